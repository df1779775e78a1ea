/*
 * feedback_lua: the script that counts one delivery of the delivery-log
 * feedback once (feedback.lua, embedded by make as FEEDBACK_LUA; see it
 * for KEYS, ARGV and the reply).
 */
#ifndef POSTLB_FEEDBACK_LUA_H
#define POSTLB_FEEDBACK_LUA_H

extern const char FEEDBACK_LUA[];

#endif
