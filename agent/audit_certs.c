/*
 * The device's certificates and keys: expiry, key strength, signature
 * hash, and who can read a private key. Each listed file is PEM and may
 * hold certificates, private keys or both; each PEM block is judged alone.
 *
 * Key strength follows best-practice cryptography as EN 303 645 5.5-1 asks:
 * RSA of 2048 bits or more, EC on P-256, P-384 or P-521, Ed25519 and Ed448;
 * DSA, smaller RSA, other curves and any key this code cannot judge are
 * weak. An encrypted private key cannot be judged without its pass phrase:
 * only its file's mode is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit_int.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define PEM_FILE_MAX (1024 * 1024)
#define PEM_BLOCKS_MAX 64

/* Judges a public or private key: NULL when strong, else why it is weak. */
static const char *weak_key(EVP_PKEY *k, char *desc, size_t n)
{
	int id = EVP_PKEY_get_base_id(k), bits = EVP_PKEY_get_bits(k);
	char group[64];
	size_t gl = 0;

	switch (id) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		snprintf(desc, n, "RSA %d", bits);
		return bits < 2048 ? "RSA shorter than 2048 bits" : NULL;
	case EVP_PKEY_DSA:
		snprintf(desc, n, "DSA %d", bits);
		return "DSA";
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(k, group, sizeof group, &gl) != 1)
			audit_copy(group, sizeof group, "unknown");
		snprintf(desc, n, "EC %.60s", group);
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "secp521r1") == 0 || strcmp(group, "P-256") == 0 ||
		    strcmp(group, "P-384") == 0 || strcmp(group, "P-521") == 0)
			return NULL;
		return "curve other than P-256, P-384 or P-521";
	case EVP_PKEY_ED25519:
		snprintf(desc, n, "Ed25519");
		return NULL;
	case EVP_PKEY_ED448:
		snprintf(desc, n, "Ed448");
		return NULL;
	default:
		snprintf(desc, n, "%s %d", OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown", bits);
		return "a key type that cannot be judged";
	}
}

/* notAfter as seconds since the epoch, and as text; 64-bit on every CPU
 * (a device certificate often outlives 2038, and a 32-bit time_t). */
static int asn1_to_epoch(const ASN1_TIME *t, int64_t *out, char when[32])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return MM_EPARSE;
	*out = mm_clock_timegm(&tm);
	if (strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		audit_copy(when, 32, "?");
	return 0;
}

static void check_cert(struct audit_ctx *c, const char *path, const unsigned char *der,
		       long len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, len);
	EVP_PKEY *k;
	int64_t not_after;
	char when[32], desc[64], subj[128] = "";
	const char *why;
	int md = NID_undef, pk = NID_undef;

	if (x == NULL) {
		log_warnx("audit: %s: a CERTIFICATE block that does not parse", path);
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
	if (asn1_to_epoch(X509_get0_notAfter(x), &not_after, when) == 0) {
		if (not_after <= c->now)
			audit_emit(c, "cert.expired", path,
				   json_pack("{s:o, s:s, s:o}", "path", audit_jstr(path, 200),
					     "not_after", when, "cert", audit_jstr(subj, 127)),
				   "certificate expired on %s", when);
		else if (not_after - c->now <= c->o->cert_days * 86400LL)
			audit_emit(c, "cert.expiring", path,
				   json_pack("{s:o, s:s, s:I, s:o}", "path", audit_jstr(path, 200),
					     "not_after", when, "days",
					     (json_int_t)((not_after - c->now) / 86400),
					     "cert", audit_jstr(subj, 127)),
				   "certificate expires on %s, within %lld days", when,
				   c->o->cert_days);
	}
	k = X509_get0_pubkey(x);
	if (k == NULL || (why = weak_key(k, desc, sizeof desc)) != NULL)
		audit_emit(c, "cert.weak_key", path,
			   json_pack("{s:o, s:s, s:o}", "path", audit_jstr(path, 200), "key",
				     k ? desc : "unreadable", "cert", audit_jstr(subj, 127)),
			   "certificate key is weak: %s (%s)", k ? why : "unreadable key",
			   k ? desc : "?");
	if (OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk) == 1 &&
	    (md == NID_md5 || md == NID_sha1 || md == NID_md4 || md == NID_md2))
		audit_emit(c, "cert.weak_signature", path,
			   json_pack("{s:o, s:s, s:o}", "path", audit_jstr(path, 200), "hash",
				     OBJ_nid2sn(md), "cert", audit_jstr(subj, 127)),
			   "certificate signed with %s", OBJ_nid2sn(md));
	X509_free(x);
}

static void check_key(struct audit_ctx *c, const char *path, const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, len);
	const char *why;
	char desc[64];

	if (k == NULL) {
		audit_emit(c, "key.weak", path,
			   json_pack("{s:o, s:s}", "path", audit_jstr(path, 200), "key",
				     "unreadable"),
			   "private key that cannot be judged");
		return;
	}
	if ((why = weak_key(k, desc, sizeof desc)) != NULL)
		audit_emit(c, "key.weak", path,
			   json_pack("{s:o, s:s}", "path", audit_jstr(path, 200), "key", desc),
			   "private key is weak: %s (%s)", why, desc);
	EVP_PKEY_free(k);
}

static int is_key_block(const char *name)
{
	return strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "RSA PRIVATE KEY") == 0 ||
	       strcmp(name, "EC PRIVATE KEY") == 0 || strcmp(name, "DSA PRIVATE KEY") == 0;
}

static void check_file(struct audit_ctx *c, const char *path, int listed)
{
	char *text = NULL, *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen;
	size_t len;
	struct stat st;
	BIO *bio = NULL;
	int fd, rc, blocks = 0, key = 0;

	fd = audit_open(c, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		if (listed && (errno == ENOENT || errno == ENOTDIR))
			audit_emit(c, "cert.missing", path,
				   json_pack("{s:o}", "path", audit_jstr(path, 200)),
				   "listed certificate or key file does not exist");
		else if (listed)
			log_warn("audit: %s", path);
		return;
	}
	rc = fstat(fd, &st);
	close(fd);
	if (rc == -1)
		return;
	if ((rc = audit_read(c, path, PEM_FILE_MAX, &text, &len)) != 0) {
		log_warnx("audit: %s: %s", path, mm_strerror(rc));
		return;
	}
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		goto done;
	while (blocks < PEM_BLOCKS_MAX &&
	       PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		blocks++;
		if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0 ||
		    strcmp(name, "TRUSTED CERTIFICATE") == 0) {
			if (strcmp(name, "TRUSTED CERTIFICATE") != 0)
				check_cert(c, path, data, dlen);
		} else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
			key = 1;
		} else if (is_key_block(name)) {
			key = 1;
			/* Traditional encrypted PEM: "Proc-Type: 4,ENCRYPTED". */
			if (strstr(header, "ENCRYPTED") == NULL)
				check_key(c, path, data, dlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	/* PEM_read_bio leaves "no start line" on the error queue at the end. */
	ERR_clear_error();
	if (blocks == 0)
		log_warnx("audit: %s: no PEM certificate or key", path);
	if (key && (st.st_mode & 077)) {
		char mode[8];

		snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
		audit_emit(c, "key.readable", path,
			   json_pack("{s:o, s:s, s:I}", "path", audit_jstr(path, 200), "mode",
				     mode, "owner", (json_int_t)st.st_uid),
			   "private key file is open to group or others (mode %s)", mode);
	}
done:
	BIO_free(bio);
	free(text);
}

void audit_check_certs(struct audit_ctx *c)
{
	size_t i;

	if (c->o->certs[0] == NULL) {
		check_file(c, "/etc/mamori/device.crt", 0);
		check_file(c, "/etc/mamori/device.key", 0);
		return;
	}
	for (i = 0; i < AUDIT_MAX_PATHS && c->o->certs[i] != NULL; i++)
		check_file(c, c->o->certs[i], 1);
}
