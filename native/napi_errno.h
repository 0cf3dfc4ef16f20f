/* Throws a JavaScript Error "<what>: <strerror(errno)>" (for the addons' Node-API functions). */
#ifndef VIGIL_NAPI_ERRNO_H
#define VIGIL_NAPI_ERRNO_H
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline napi_value throw_errno(napi_env env, const char *what) {
  char msg[4400]; /* room for a path */
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}
#endif
