/*
 * nftables for Node, through Node-API and libnftables, in-process: run(text) applies one
 * nft script as one transaction and returns nft's complaints ("" when it applied). The
 * fence computes a set element's timeout and hands it to the kernel in the same
 * synchronous call, so no process wake-up (an `nft` child) can fall between the two and
 * stretch the kernel-enforced lease.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

static struct nft_ctx *ctx;

/* run(script: string): string (empty when applied, else nft's error output) */
static napi_value nft_run(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value argv[1], out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "run(script): expected a string");
    return NULL;
  }
  char *script = malloc(len + 1);
  if (!script) {
    napi_throw_error(env, NULL, "run: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], script, len + 1, &len);
  if (!ctx) {
    ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
      free(script);
      napi_throw_error(env, NULL, "nft_ctx_new failed");
      return NULL;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
  }
  int rc = nft_run_cmd_from_buffer(ctx, script);
  free(script);
  const char *err = nft_ctx_get_error_buffer(ctx);
  if (rc == 0) err = "";
  else if (!err || !*err) err = "nft failed without a message";
  napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, nft_run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
