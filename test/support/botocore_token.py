"""The reference EKS token: botocore used exactly as `aws eks get-token` uses it.

Mirrors awscli/customizations/eks/get_token.py (STSClientFactory + TokenGenerator) with the clock
frozen, so a test can compare our token byte for byte.

Input (stdin, JSON): {"clusterName", "region", "accessKeyId", "secretAccessKey", "sessionToken"?,
                      "time": "2026-01-02T03:04:05Z"}
Output (stdout, JSON): {"url": presigned URL, "token": "k8s-aws-v1.…"}
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
from unittest import mock

import botocore.auth
import botocore.session

# The constants of awscli/customizations/eks/get_token.py.
URL_TIMEOUT = 60
TOKEN_PREFIX = "k8s-aws-v1."
K8S_AWS_ID_HEADER = "x-k8s-aws-id"


def _retrieve_k8s_aws_id(params, context, **kwargs):
    if K8S_AWS_ID_HEADER in params:
        context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)


def _inject_k8s_aws_id_header(request, **kwargs):
    if K8S_AWS_ID_HEADER in request.context:
        request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]


def get_sts_client(session, region_name, access_key, secret_key, session_token):
    sts = session.create_client(
        "sts",
        region_name=region_name,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
    )
    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", _retrieve_k8s_aws_id)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", _inject_k8s_aws_id_header)
    return sts


def get_token(sts, k8s_aws_id):
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={K8S_AWS_ID_HEADER: k8s_aws_id},
        ExpiresIn=URL_TIMEOUT,
        HttpMethod="GET",
    )
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")
    return url, token


def main() -> None:
    spec = json.load(sys.stdin)
    frozen = datetime.datetime.strptime(spec["time"], "%Y-%m-%dT%H:%M:%SZ")
    session = botocore.session.Session()
    sts = get_sts_client(
        session, spec["region"], spec["accessKeyId"], spec["secretAccessKey"], spec.get("sessionToken")
    )
    # SigV4QueryAuth reads the clock through botocore.auth.get_current_datetime.
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        url, token = get_token(sts, spec["clusterName"])
    json.dump({"url": url, "token": token}, sys.stdout)


if __name__ == "__main__":
    main()
