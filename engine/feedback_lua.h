/*
 * feedback_lua: the scripts of the delivery-log feedback, embedded by
 * make: FEEDBACK_LUA (feedback.lua) counts one delivery once,
 * FEEDBACK_CB_LUA (feedback_cb.lua) records a breaker change,
 * RESPOND_LUA (respond.lua) counts a response rule's match and suspends;
 * see each for KEYS, ARGV and the reply.
 */
#ifndef POSTLB_FEEDBACK_LUA_H
#define POSTLB_FEEDBACK_LUA_H

extern const char FEEDBACK_LUA[];
extern const char FEEDBACK_CB_LUA[];
extern const char RESPOND_LUA[];

#endif
