#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Reads a DER CMS SignedData with nothing but the standard library, so the tests check our
# CAdES attributes without trusting our own parser or OpenSSL's:
#   cms_fields.py SIGNATURE.p7s OUTDIR
# prints JSON: the signed and unsigned attribute OIDs of the first SignerInfo, the certificate
# hash of the ESS signing-certificate-v2 attribute, and how many CRLs and OCSP responses
# SignedData.crls holds; writes OUTDIR/signature-value.bin, OUTDIR/timestamp-token.der (if any),
# OUTDIR/crl-N.der and OUTDIR/ocsp-N.der.
import json
import os
import sys


def tlv(data, at):
    tag = data[at]
    length = data[at + 1]
    header = 2
    if length & 0x80:
        octets = length & 0x7F
        length = int.from_bytes(data[at + 2:at + 2 + octets], "big")
        header += octets
    start = at + header
    return tag, start, start + length


def items(data, start, end):
    out = []
    while start < end:
        tag, content, stop = tlv(data, start)
        out.append((tag, start, content, stop))
        start = stop
    return out


def oid_text(raw):
    first = raw[0]
    parts = [first // 40, first % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def attributes(data, content, stop):
    found = {}
    for _, _, attr_content, attr_stop in items(data, content, stop):
        (oid_tag, _, oid_c, oid_s), (_, _, set_c, set_s) = items(data, attr_content, attr_stop)[:2]
        values = items(data, set_c, set_s)
        found[oid_text(data[oid_c:oid_s])] = [data[v[1]:v[3]] for v in values]
    return found


def main():
    data = open(sys.argv[1], "rb").read()
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    _, c, s = tlv(data, 0)
    explicit = items(data, c, s)[1]  # ContentInfo { contentType, [0] EXPLICIT SignedData }
    _, sd_c, sd_s = tlv(data, explicit[2])
    fields = items(data, sd_c, sd_s)
    result = {"signed_attributes": [], "unsigned_attributes": [], "crls": 0, "ocsp_responses": 0}
    for tag, whole, content, stop in fields:
        if tag == 0xA1:
            for etag, ewhole, econtent, estop in items(data, content, stop):
                if etag == 0x30:
                    result["crls"] += 1
                    open(f"{outdir}/crl-{result['crls']}.der", "wb").write(data[ewhole:estop])
                elif etag == 0xA1:
                    (otag, _, oc, os_), (rtag, rwhole, rc, rs) = items(data, econtent, estop)
                    assert oid_text(data[oc:os_]) == "1.3.6.1.5.5.7.16.2", "not id-ri-ocsp-response"
                    result["ocsp_responses"] += 1
                    n = result["ocsp_responses"]
                    open(f"{outdir}/ocsp-{n}.der", "wb").write(data[rwhole:rs])
    signer_infos = fields[-1]
    first = items(data, signer_infos[2], signer_infos[3])[0]
    for tag, whole, content, stop in items(data, first[2], first[3]):
        if tag == 0xA0:
            signed = attributes(data, content, stop)
            result["signed_attributes"] = sorted(signed)
            ess = signed.get("1.2.840.113549.1.9.16.2.47")
            if ess:
                # SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { [hashAlgorithm] certHash } }
                value = ess[0]
                _, vc, vs = tlv(value, 0)
                _, cc, cs = tlv(value, vc)
                _, ic, is_ = tlv(value, cc)
                for itag, _, icontent, istop in items(value, ic, is_):
                    if itag == 0x04:
                        result["ess_certificate_sha256"] = value[icontent:istop].hex()
        elif tag == 0x04:
            open(f"{outdir}/signature-value.bin", "wb").write(data[content:stop])
        elif tag == 0xA1:
            unsigned = attributes(data, content, stop)
            result["unsigned_attributes"] = sorted(unsigned)
            token = unsigned.get("1.2.840.113549.1.9.16.2.14")
            if token:
                open(f"{outdir}/timestamp-token.der", "wb").write(token[0])
    print(json.dumps(result, sort_keys=True))


main()
