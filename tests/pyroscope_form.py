#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Decode a Pyroscope /ingest request the way a real server would read it,
# with Python's own parsers (urllib.parse for the query, the email package's
# MIME parser for multipart/form-data), and print it as plain lines a C test
# compares exactly:
#   query KEY=VALUE                (decoded, in request order)
#   part N name=NAME filename=FILE type=TYPE bytes=LEN
#   config TYPE {"aggregation": ..., ...}   (sample_type_config, keys sorted)
# Each part's payload is written to OUTDIR/NAME.
# Usage: pyroscope_form.py PATH CONTENT-TYPE BODY-FILE OUTDIR
import email.parser
import email.policy
import json
import os
import sys
import urllib.parse


def main():
    path, ctype, body_file, outdir = sys.argv[1:5]
    query = urllib.parse.urlsplit(path).query
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True):
        print(f"query {k}={v}")

    with open(body_file, "rb") as f:
        body = f.read()
    raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    if not msg.is_multipart() or msg.get_content_type() != "multipart/form-data":
        sys.exit(f"not multipart/form-data: {msg.get_content_type()}")
    if msg.defects:
        sys.exit(f"defects: {msg.defects}")
    for n, part in enumerate(msg.iter_parts(), 1):
        if part.defects:
            sys.exit(f"part {n} defects: {part.defects}")
        if part.get_content_disposition() != "form-data":
            sys.exit(f"part {n}: disposition {part.get_content_disposition()}")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        print(f"part {n} name={name} filename={part.get_filename()} "
              f"type={part.get_content_type()} bytes={len(payload)}")
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(payload)
        if name == "sample_type_config":
            for k, v in json.loads(payload).items():
                print(f"config {k} {json.dumps(v, sort_keys=True)}")


main()
