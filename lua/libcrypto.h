/* OpenSSL's libcrypto, loaded the first time an app hashes, signs or draws random bytes
 * through lunaserve.crypto rather than when the process starts: linking it put about 1.4 MiB
 * of resident memory (its relocations and initialisation) into every server, used or not.
 * The calls keep OpenSSL's names (macros over a table of pointers), so the code reads as
 * plain OpenSSL; ls_libcrypto_load() must have succeeded before any of them. */
#ifndef LS_LIBCRYPTO_H
#define LS_LIBCRYPTO_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Every libcrypto function lunaserve calls. */
#define LS_LIBCRYPTO_FUNCS(X) \
    X(CRYPTO_memcmp) \
    X(ERR_clear_error) \
    X(ERR_error_string_n) \
    X(ERR_get_error) \
    X(EVP_Digest) \
    X(EVP_DigestFinal_ex) \
    X(EVP_DigestInit_ex) \
    X(EVP_DigestUpdate) \
    X(EVP_MD_CTX_free) \
    X(EVP_MD_CTX_new) \
    X(EVP_Q_mac) \
    X(EVP_sha1) \
    X(EVP_sha256) \
    X(RAND_bytes)

typedef struct ls_libcrypto {
#define LS_LIBCRYPTO_FIELD(name) __typeof__(name) *name;
    LS_LIBCRYPTO_FUNCS(LS_LIBCRYPTO_FIELD)
#undef LS_LIBCRYPTO_FIELD
} ls_libcrypto;

extern ls_libcrypto ls_crypto;

/* Loads libcrypto once (later calls return at once): NULL, or why it cannot be loaded. */
const char *ls_libcrypto_load(void);

#ifndef LS_LIBCRYPTO_LOADER
#define CRYPTO_memcmp (ls_crypto.CRYPTO_memcmp)
#define ERR_clear_error (ls_crypto.ERR_clear_error)
#define ERR_error_string_n (ls_crypto.ERR_error_string_n)
#define ERR_get_error (ls_crypto.ERR_get_error)
#define EVP_Digest (ls_crypto.EVP_Digest)
#define EVP_DigestFinal_ex (ls_crypto.EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (ls_crypto.EVP_DigestInit_ex)
#define EVP_DigestUpdate (ls_crypto.EVP_DigestUpdate)
#define EVP_MD_CTX_free (ls_crypto.EVP_MD_CTX_free)
#define EVP_MD_CTX_new (ls_crypto.EVP_MD_CTX_new)
#define EVP_Q_mac (ls_crypto.EVP_Q_mac)
#define EVP_sha1 (ls_crypto.EVP_sha1)
#define EVP_sha256 (ls_crypto.EVP_sha256)
#define RAND_bytes (ls_crypto.RAND_bytes)
#endif

#endif
