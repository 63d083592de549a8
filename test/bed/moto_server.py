"""moto in server mode for the test bed, plus a small control API.

moto runs in this process (ThreadedMotoServer's server, on a free loopback port) so the control API
can reach into its backends: moto invents a random endpoint and CA for every EKS cluster, and the
tests need DescribeCluster to return the address of the real test API server instead.

Prints one JSON line, {"port": P, "controlPort": C, "region": R}, once both servers listen.
Exits when stdin closes, so the server never outlives the process that started it.

Control API (JSON bodies, any process may call it):
  GET  /health                   -> {"ok": true}
  POST /eks/cluster-endpoint     {"name", "endpoint", "certificateAuthorityData", "region"?, "accountId"?}
  POST /reset                    forget every resource of every backend
  POST /ec2/instance-state       {"instanceId", "state", "reasonCode"?, "region"?, "accountId"?}
                                 puts an instance in any EC2 state: moto's StopInstances and
                                 TerminateInstances go straight to stopped and terminated, while
                                 EC2 holds an instance in stopping or shutting-down for a while, and
                                 a hibernated instance stops with reason Client.UserInitiatedHibernate
  POST /ec2/scheduled-event      {"instanceId", "code", "notBefore", "notAfter"?, "description"?}
                                 lists a scheduled event for the instance in DescribeInstanceStatus,
                                 as EC2 does once it schedules one (no API creates one)
  POST /ec2/scheduled-event/cancel {"instanceId"}
                                 EC2 cancelled the instance's scheduled events: still described for a
                                 while, as EC2 does, their description starting "[Canceled]"
  POST /ec2/capacity-reservation {"instanceId", "capacityReservationId"}
                                 the instance runs in that Capacity Reservation (moto has none)
  POST /ec2/dedicated-host       {"instanceId", "hostId"}
                                 the instance runs on that Dedicated Host (moto says default tenancy)
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import StateReason
from moto.eks.models import eks_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

# CloudFormation resources and EventBridge TestEventPattern that moto lacks (see the module).
import moto_extensions  # noqa: F401, E402 - sibling module, loaded before the first request


class PresignedUrlDispatcher(DomainDispatcherApplication):
    """Routes presigned (query-signed) requests by their credential scope, as AWS does.

    moto routes a request by its Authorization header; a presigned GetCallerIdentity URL
    (what an EKS token carries) has none, so stock moto would send it to S3.
    """

    def infer_service_region_host(self, environ: dict[str, Any], path: str) -> str | None:
        if not environ.get("HTTP_AUTHORIZATION"):
            query = parse_qs(environ.get("QUERY_STRING", ""))
            credential = query.get("X-Amz-Credential", [""])[0]
            parts = credential.split("/")
            if len(parts) == 5:
                _, _, region, service, _ = parts
                return f"{service}.{region}.amazonaws.com"
        return super().infer_service_region_host(environ, path)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        wants_json = "application/json" in environ.get("HTTP_ACCEPT", "")
        if wants_json and query.get("Action") == ["GetCallerIdentity"]:
            return caller_identity_as_json(super().__call__, environ, start_response)
        return super().__call__(environ, start_response)


def caller_identity_as_json(app: Any, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers GetCallerIdentity in JSON, as STS does for `Accept: application/json`.

    aws-iam-authenticator asks for JSON and parses it; moto only speaks XML.
    """
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    body = b"".join(app(environ, capture))
    if not captured["status"].startswith("200"):
        start_response(captured["status"], captured["headers"])
        return [body]
    root = ElementTree.fromstring(body)

    def text(tag: str) -> str:
        node = root.find(f".//{{*}}{tag}")
        return node.text or "" if node is not None else ""

    payload = json.dumps(
        {
            "GetCallerIdentityResponse": {
                "GetCallerIdentityResult": {
                    "Account": text("Account"),
                    "Arn": text("Arn"),
                    "UserId": text("UserId"),
                },
                "ResponseMetadata": {"RequestId": text("RequestId")},
            }
        }
    ).encode()
    start_response(
        captured["status"], [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class TestBedMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = PresignedUrlDispatcher(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True)
        self._server_ready_event.set()
        self._server.serve_forever()


def set_cluster_endpoint(body: dict[str, Any], default_region: str) -> None:
    account = body.get("accountId") or DEFAULT_ACCOUNT_ID
    region = body.get("region") or default_region
    clusters = eks_backends[account][region].clusters
    name = body["name"]
    if name not in clusters:
        raise KeyError(f"no EKS cluster {name!r} in {account}/{region}")
    clusters[name].endpoint = body["endpoint"]
    clusters[name].certificate_authority = {"data": body["certificateAuthorityData"]}


# EC2's state codes (the low byte of InstanceState.Code).
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def set_instance_state(body: dict[str, Any], default_region: str) -> None:
    account = body.get("accountId") or DEFAULT_ACCOUNT_ID
    region = body.get("region") or default_region
    state = body["state"]
    if state not in STATE_CODES:
        raise KeyError(f"no EC2 instance state {state!r}")
    instance = ec2_backends[account][region].get_instance(body["instanceId"])
    instance._state.name = state
    instance._state.code = STATE_CODES[state]
    code = body.get("reasonCode") or ""
    instance.state_reason = StateReason(f"{code}: set by the test bed" if code else "", code)


def instance_of(body: dict[str, Any], default_region: str) -> Any:
    account = body.get("accountId") or DEFAULT_ACCOUNT_ID
    region = body.get("region") or default_region
    return ec2_backends[account][region].get_instance(body["instanceId"])


def add_scheduled_event(body: dict[str, Any], default_region: str) -> None:
    instance = instance_of(body, default_region)
    event = {"Code": body["code"], "NotBefore": parse_time(body["notBefore"])}
    if body.get("notAfter"):
        event["NotAfter"] = parse_time(body["notAfter"])
    if body.get("description"):
        event["Description"] = body["description"]
    # moto serializes InstanceStatus.Events from this attribute, as it does every shape member.
    instance.events = [*getattr(instance, "events", []), event]


def cancel_scheduled_events(body: dict[str, Any], default_region: str) -> None:
    instance = instance_of(body, default_region)
    for event in getattr(instance, "events", []):
        if not str(event.get("Description", "")).startswith("["):
            event["Description"] = f"[Canceled] {event.get('Description', '')}".strip()


def set_capacity_reservation(body: dict[str, Any], default_region: str) -> None:
    instance_of(body, default_region).capacity_reservation_id = body["capacityReservationId"]


def set_dedicated_host(body: dict[str, Any], default_region: str) -> None:
    placement = instance_of(body, default_region)._placement
    placement.tenancy = "host"
    placement.host_id = body["hostId"]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def make_control_handler(default_region: str) -> type[BaseHTTPRequestHandler]:
    class ControlHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self.reply(200, {"ok": True})
            else:
                self.reply(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/eks/cluster-endpoint":
                    set_cluster_endpoint(body, default_region)
                elif self.path == "/ec2/instance-state":
                    set_instance_state(body, default_region)
                elif self.path == "/ec2/scheduled-event":
                    add_scheduled_event(body, default_region)
                elif self.path == "/ec2/scheduled-event/cancel":
                    cancel_scheduled_events(body, default_region)
                elif self.path == "/ec2/capacity-reservation":
                    set_capacity_reservation(body, default_region)
                elif self.path == "/ec2/dedicated-host":
                    set_dedicated_host(body, default_region)
                elif self.path == "/reset":
                    moto_api_backend.reset()
                else:
                    self.reply(404, {"error": f"no route {self.path}"})
                    return
            except KeyError as error:
                self.reply(400, {"error": str(error)})
                return
            except Exception as error:  # noqa: BLE001 - report anything to the test that asked
                self.reply(500, {"error": repr(error)})
                return
            self.reply(200, {"ok": True})

    return ControlHandler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()

    moto = TestBedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    _, port = moto.get_host_and_port()

    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control_handler(args.region))
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()

    print(json.dumps({"port": port, "controlPort": control.server_address[1], "region": args.region}), flush=True)

    # Block until the parent closes our stdin (it stopped us, or it died).
    for _ in sys.stdin:
        pass
    control.shutdown()
    moto.stop()


if __name__ == "__main__":
    main()
