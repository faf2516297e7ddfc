/*
 * static_stubs.c -- fail-closed GSS-API and LDAP stubs for the static
 * osiris-worker (linked only by `make worker`, see static.mk).
 *
 * Why: Debian's libpq.a is built with Kerberos (GSS-API) and LDAP support,
 * but Debian ships no static MIT Kerberos and the static OpenLDAP would drag
 * in SASL, which has no static archive either.  A static link therefore
 * needs these symbols from somewhere.  Each stub reports failure, so the
 * features behind them fail cleanly instead of half-working:
 *   - GSS-API: libpq's gssencmode=prefer (the default) first asks
 *     gss_acquire_cred for a credential cache; the failure makes it skip GSS
 *     encryption and continue with TLS or plain, exactly as on a machine
 *     without a Kerberos ticket.  gssencmode=require and krb5/gss
 *     authentication fail with libpq's own error message.
 *   - LDAP: used only by libpq's "ldap://" service lookups (pg_service.conf);
 *     ldap_init returns NULL, which libpq reports as "could not create LDAP
 *     structure".
 * Nothing here can hand out a resource, so the release functions have
 * nothing to free: they clear their argument and also report failure (the
 * callers ignore the status of a release).
 *
 * Only plain C types are used because the Kerberos and OpenLDAP headers are
 * not installed for this build.  The layouts match <gssapi/gssapi.h> and
 * <ldap.h> for every object a stub touches (OM_uint32, gss_buffer_desc,
 * gss_OID_desc; everything else is an opaque pointer).
 */
#include <stddef.h>
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef struct { size_t length; void *value; } st_gss_buffer_desc;
typedef struct { OM_uint32 length; void *elements; } st_gss_OID_desc;
typedef st_gss_buffer_desc *gss_buffer_t;
typedef st_gss_OID_desc *gss_OID;
typedef void *gss_opaque; /* gss_name_t, gss_cred_id_t, gss_ctx_id_t, gss_OID_set */

/* GSS-API major status codes (RFC 2744, routine errors are shifted 16). */
#define ST_GSS_S_FAILURE ((OM_uint32)13u << 16)
#define ST_GSS_S_UNAVAILABLE ((OM_uint32)16u << 16)
#define ST_LDAP_NOT_SUPPORTED (-12) /* OpenLDAP's LDAP_NOT_SUPPORTED */

/* ---- GSS-API (libpq: fe-gssapi-common.c, fe-secure-gssapi.c, fe-auth.c) */

/* 1.2.840.113554.1.2.1.4, the real value, so a caller comparing OIDs sees
 * the right one; gss_import_name still refuses it. */
static st_gss_OID_desc st_hostbased_oid = {10, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04"};
extern gss_OID GSS_C_NT_HOSTBASED_SERVICE;
gss_OID GSS_C_NT_HOSTBASED_SERVICE = &st_hostbased_oid;

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_opaque name, OM_uint32 time_req, gss_opaque mechs,
                           int usage, gss_opaque *cred, gss_opaque *actual_mechs, OM_uint32 *time_rec);
OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_opaque cred, gss_opaque *ctx, gss_opaque target,
                               gss_OID mech, OM_uint32 req_flags, OM_uint32 time_req, void *chan,
                               gss_buffer_t input, gss_OID *actual_mech, gss_buffer_t output,
                               OM_uint32 *ret_flags, OM_uint32 *time_rec);
OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_t name_buf, gss_OID name_type, gss_opaque *name);
OM_uint32 gss_wrap(OM_uint32 *minor, gss_opaque ctx, int conf_req, OM_uint32 qop, gss_buffer_t in,
                   int *conf_state, gss_buffer_t out);
OM_uint32 gss_unwrap(OM_uint32 *minor, gss_opaque ctx, gss_buffer_t in, gss_buffer_t out, int *conf_state,
                     OM_uint32 *qop);
OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, gss_opaque ctx, int conf_req, OM_uint32 qop,
                              OM_uint32 req_output_size, OM_uint32 *max_input_size);
OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int status_type, gss_OID mech,
                             OM_uint32 *message_context, gss_buffer_t status_string);
OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_t buf);
OM_uint32 gss_release_name(OM_uint32 *minor, gss_opaque *name);
OM_uint32 gss_release_cred(OM_uint32 *minor, gss_opaque *cred);
OM_uint32 gss_delete_sec_context(OM_uint32 *minor, gss_opaque *ctx, gss_buffer_t output);

static void st_minor(OM_uint32 *minor) {
  if (minor) *minor = 0;
}
static void st_empty(gss_buffer_t buf) {
  if (buf) {
    buf->length = 0;
    buf->value = NULL;
  }
}

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_opaque name, OM_uint32 time_req, gss_opaque mechs,
                           int usage, gss_opaque *cred, gss_opaque *actual_mechs, OM_uint32 *time_rec) {
  (void)name, (void)time_req, (void)mechs, (void)usage;
  st_minor(minor);
  if (cred) *cred = NULL;
  if (actual_mechs) *actual_mechs = NULL;
  if (time_rec) *time_rec = 0;
  return ST_GSS_S_UNAVAILABLE; /* "no credential cache": libpq skips GSS */
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_opaque cred, gss_opaque *ctx, gss_opaque target,
                               gss_OID mech, OM_uint32 req_flags, OM_uint32 time_req, void *chan,
                               gss_buffer_t input, gss_OID *actual_mech, gss_buffer_t output,
                               OM_uint32 *ret_flags, OM_uint32 *time_rec) {
  (void)cred, (void)ctx, (void)target, (void)mech, (void)req_flags, (void)time_req, (void)chan,
      (void)input;
  st_minor(minor);
  if (actual_mech) *actual_mech = NULL;
  st_empty(output);
  if (ret_flags) *ret_flags = 0;
  if (time_rec) *time_rec = 0;
  return ST_GSS_S_UNAVAILABLE;
}

OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_t name_buf, gss_OID name_type, gss_opaque *name) {
  (void)name_buf, (void)name_type;
  st_minor(minor);
  if (name) *name = NULL;
  return ST_GSS_S_UNAVAILABLE;
}

OM_uint32 gss_wrap(OM_uint32 *minor, gss_opaque ctx, int conf_req, OM_uint32 qop, gss_buffer_t in,
                   int *conf_state, gss_buffer_t out) {
  (void)ctx, (void)conf_req, (void)qop, (void)in;
  st_minor(minor);
  if (conf_state) *conf_state = 0;
  st_empty(out);
  return ST_GSS_S_UNAVAILABLE;
}

OM_uint32 gss_unwrap(OM_uint32 *minor, gss_opaque ctx, gss_buffer_t in, gss_buffer_t out, int *conf_state,
                     OM_uint32 *qop) {
  (void)ctx, (void)in;
  st_minor(minor);
  st_empty(out);
  if (conf_state) *conf_state = 0;
  if (qop) *qop = 0;
  return ST_GSS_S_UNAVAILABLE;
}

OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, gss_opaque ctx, int conf_req, OM_uint32 qop,
                              OM_uint32 req_output_size, OM_uint32 *max_input_size) {
  (void)ctx, (void)conf_req, (void)qop, (void)req_output_size;
  st_minor(minor);
  if (max_input_size) *max_input_size = 0;
  return ST_GSS_S_UNAVAILABLE;
}

/* libpq's error formatter stops at the first non-COMPLETE status, so its
 * message ends without GSS detail. */
OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int status_type, gss_OID mech,
                             OM_uint32 *message_context, gss_buffer_t status_string) {
  (void)status, (void)status_type, (void)mech;
  st_minor(minor);
  if (message_context) *message_context = 0;
  st_empty(status_string);
  return ST_GSS_S_FAILURE;
}

OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_t buf) {
  st_minor(minor);
  st_empty(buf);
  return ST_GSS_S_FAILURE;
}

OM_uint32 gss_release_name(OM_uint32 *minor, gss_opaque *name) {
  st_minor(minor);
  if (name) *name = NULL;
  return ST_GSS_S_FAILURE;
}

OM_uint32 gss_release_cred(OM_uint32 *minor, gss_opaque *cred) {
  st_minor(minor);
  if (cred) *cred = NULL;
  return ST_GSS_S_FAILURE;
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, gss_opaque *ctx, gss_buffer_t output) {
  st_minor(minor);
  if (ctx) *ctx = NULL;
  st_empty(output);
  return ST_GSS_S_FAILURE;
}

/* ---- OpenLDAP (libpq: fe-connect.c ldapServiceLookup) ------------------ */
/* ldap_init failing ends the lookup; the rest is unreachable after that but
 * must exist for the link, and fails too. */

typedef void *st_ldap;          /* LDAP *, LDAPMessage * */
struct berval;                  /* never dereferenced */
struct timeval;

st_ldap ldap_init(const char *host, int port);
int ldap_set_option(st_ldap ld, int option, const void *value);
int ldap_simple_bind(st_ldap ld, const char *who, const char *passwd);
int ldap_result(st_ldap ld, int msgid, int all, struct timeval *timeout, st_ldap *result);
int ldap_search_st(st_ldap ld, const char *base, int scope, const char *filter, char **attrs,
                   int attrsonly, struct timeval *timeout, st_ldap *res);
int ldap_count_entries(st_ldap ld, st_ldap chain);
st_ldap ldap_first_entry(st_ldap ld, st_ldap chain);
struct berval **ldap_get_values_len(st_ldap ld, st_ldap entry, const char *target);
void ldap_value_free_len(struct berval **vals);
int ldap_msgfree(st_ldap msg);
int ldap_unbind(st_ldap ld);
char *ldap_err2string(int err);

st_ldap ldap_init(const char *host, int port) {
  (void)host, (void)port;
  return NULL;
}
int ldap_set_option(st_ldap ld, int option, const void *value) {
  (void)ld, (void)option, (void)value;
  return ST_LDAP_NOT_SUPPORTED;
}
int ldap_simple_bind(st_ldap ld, const char *who, const char *passwd) {
  (void)ld, (void)who, (void)passwd;
  return -1; /* a message id; -1 is failure */
}
int ldap_result(st_ldap ld, int msgid, int all, struct timeval *timeout, st_ldap *result) {
  (void)ld, (void)msgid, (void)all, (void)timeout;
  if (result) *result = NULL;
  return -1;
}
int ldap_search_st(st_ldap ld, const char *base, int scope, const char *filter, char **attrs,
                   int attrsonly, struct timeval *timeout, st_ldap *res) {
  (void)ld, (void)base, (void)scope, (void)filter, (void)attrs, (void)attrsonly, (void)timeout;
  if (res) *res = NULL;
  return ST_LDAP_NOT_SUPPORTED;
}
int ldap_count_entries(st_ldap ld, st_ldap chain) {
  (void)ld, (void)chain;
  return -1;
}
st_ldap ldap_first_entry(st_ldap ld, st_ldap chain) {
  (void)ld, (void)chain;
  return NULL;
}
struct berval **ldap_get_values_len(st_ldap ld, st_ldap entry, const char *target) {
  (void)ld, (void)entry, (void)target;
  return NULL;
}
void ldap_value_free_len(struct berval **vals) { (void)vals; }
int ldap_msgfree(st_ldap msg) {
  (void)msg;
  return -1;
}
int ldap_unbind(st_ldap ld) {
  (void)ld;
  return ST_LDAP_NOT_SUPPORTED;
}
char *ldap_err2string(int err) {
  (void)err;
  return (char *)"LDAP is not available in the static osiris-worker";
}
