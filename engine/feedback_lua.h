/*
 * feedback_lua: the scripts of the delivery-log feedback, embedded by
 * make: FEEDBACK_LUA (feedback.lua) counts one delivery once,
 * FEEDBACK_CB_LUA (feedback_cb.lua) records a breaker change,
 * RESPOND_LUA (respond.lua) counts a response rule's match and suspends,
 * WARMHOLD_LUA (warmhold.lua) judges and holds a member's warm-up;
 * see each for KEYS, ARGV and the reply.
 */
#ifndef POSTLB_FEEDBACK_LUA_H
#define POSTLB_FEEDBACK_LUA_H

extern const char FEEDBACK_LUA[];
extern const char FEEDBACK_CB_LUA[];
extern const char RESPOND_LUA[];
extern const char WARMHOLD_LUA[];

#endif
