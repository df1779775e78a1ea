/*
 * check_lua: the script of the active checks' shared state (check.lua,
 * embedded by make as CHECK_LUA; see it for KEYS, ARGV and the reply).
 */
#ifndef POSTLB_CHECK_LUA_H
#define POSTLB_CHECK_LUA_H

extern const char CHECK_LUA[];

#endif
