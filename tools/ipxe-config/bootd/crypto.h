/*
 * crypto.h - bootd's iPXE TLS settings (named configuration "bootd")
 *
 * iPXE's defaults are kept: TLS 1.1 to 1.2 (no TLS 1.3, so nginx must
 * offer TLSv1.2), RSA and ECDSA keys, ECDHE/DHE key exchange, AES-GCM and
 * AES-CBC.  The build trusts only the CA given to build-ipxe --trust
 * (TRUST=), which replaces iPXE's default root.  Serve the full chain
 * (leaf and intermediates) from nginx, or embed the CA with --cert too:
 * iPXE otherwise tries to download cross-signatures from CROSSCERT
 * (http://ca.ipxe.org/auto).  A private CA's certificates should carry no
 * OCSP responder address (authorityInfoAccess) unless the machines can
 * reach it, since iPXE checks OCSP when one is named.
 *
 * The machine's clock must be within TIMESTAMP_ERROR_MARGIN (12.5 hours)
 * of the certificates' validity period.
 */
