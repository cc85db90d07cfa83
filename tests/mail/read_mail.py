"""Parses every NNNNNN.eml in a spool directory with Python's email package and prints them
as one JSON list: the headers the delivery tests check, each part's content type, and the
decoded text and HTML parts."""

import email
import email.policy
import json
import os
import sys


def parse(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = {
        "file": os.path.basename(path),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "content_type": msg.get_content_type(),
        "parts": [],
        "text": None,
        "html": None,
    }
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        out["parts"].append(kind)
        if kind == "text/plain" and out["text"] is None:
            out["text"] = part.get_content()
        elif kind == "text/html" and out["html"] is None:
            out["html"] = part.get_content()
    return out


def main():
    spool = sys.argv[1]
    names = sorted(n for n in os.listdir(spool) if n.endswith(".eml"))
    print(json.dumps([parse(os.path.join(spool, n)) for n in names]))


if __name__ == "__main__":
    main()
