"""A local S3-compatible server for the storage tests: moto's, on loopback, in a thread of the
test process. Each test makes a bucket of its own on it (``new_bucket``)."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from starlette.datastructures import Secret

from portal.storage import S3
from tests.helpers import servers

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


@dataclass
class S3Server:
    endpoint_url: str

    @functools.cached_property
    def client(self) -> Any:
        """A boto3 client of the server (made once: making one takes a good part of a second),
        to make buckets and look into them behind the portal's back."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def new_bucket(self) -> str:
        name = "uploads-" + secrets.token_hex(6)
        self.client.create_bucket(Bucket=name)
        return name

    def settings(self, bucket: str, *, prefix: str = "") -> dict[str, Any]:
        """The portal's settings for keeping uploads in ``bucket`` on this server."""
        return {
            "upload_storage": S3,
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": bucket,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": Secret(SECRET_ACCESS_KEY),
            "s3_prefix": prefix,
        }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    servers.check_servers_allowed("an S3 server")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        running = S3Server(f"http://{host}:{port}")
        yield running
        running.client.close()
    finally:
        server.stop()
