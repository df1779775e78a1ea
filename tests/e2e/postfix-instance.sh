# shellcheck shell=bash
# postfix-instance.sh: the configuration of a private Postfix instance
# ("postfix -c DIR") on loopback, shared by the end-to-end harness
# (tests/e2e/lib.sh) and the benchmarks (bench/).  It only prints files;
# the callers create, start and stop the instance.  The facts behind it
# were verified on this kind of machine: no chroot, the maillog in a file
# whose directory is allowed by maillog_file_prefixes, the postlog
# service, no DNS, in_flow_delay = 0.

# postfix_main_cf DIR NAME RELAY_PORT ALLOW_DIR: prints a main.cf for the
# instance in DIR (queue and data below it) named NAME, relaying everything
# to [127.0.0.1]:RELAY_PORT and logging to DIR/maillog (ALLOW_DIR must be a
# parent of DIR, for maillog_file_prefixes).  smtpd_error_sleep_time is 0
# so that a 4xx answer does not stall the client for a second.
postfix_main_cf() {
	local d=$1 name=$2 relay=$3 allow=$4
	cat <<MAINCF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $name.postlb.example
mydomain = postlb.example
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
in_flow_delay = 0
smtpd_error_sleep_time = 0
biff = no
maillog_file = $d/maillog
maillog_file_prefixes = /var, /dev/stdout, $allow
MAINCF
}

# postfix_master_cf SMTP_PORT: prints a master.cf with smtpd on
# 127.0.0.1:SMTP_PORT and the usual services, none chrooted.
postfix_master_cf() {
	cat <<MASTERCF
127.0.0.1:$1 inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
MASTERCF
}
