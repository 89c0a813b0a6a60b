#ifndef COpenSSL_SHIM_H
#define COpenSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

// Function-like macros of OpenSSL that Swift cannot call, as prefixed inline functions.

static inline int collector_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int collector_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

// SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION (built from a macro Swift cannot see).
static inline uint64_t collector_SSL_CTX_set_stream_options(SSL_CTX *ctx) {
    return SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
}

static inline long collector_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long collector_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline long collector_SSL_CTX_add_extra_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return SSL_CTX_add_extra_chain_cert(ctx, cert);
}

static inline long collector_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

// Server-side ALPN: choose "h2" when the client offers it, else "http/1.1"; a client offering
// neither gets no ALPN answer (and the server falls back to looking at the first bytes).
static inline int collector_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                        const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    static const char *const preferred[] = {"h2", "http/1.1"};
    for (int p = 0; p < 2; p++) {
        size_t want = strlen(preferred[p]);
        unsigned int i = 0;
        while (i < inlen) {
            unsigned int len = in[i];
            if (i + 1 + len > inlen) break;
            if (len == want && memcmp(in + i + 1, preferred[p], want) == 0) {
                *out = in + i + 1;
                *outlen = (unsigned char)len;
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + len;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static inline void collector_SSL_CTX_select_h2_or_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, collector_alpn_select, NULL);
}

#endif
