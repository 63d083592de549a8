"""What moto 5.2.1 lacks for `serverless deploy` to land as it does in AWS, and nothing more.

Imported by moto_server.py before the first request, so the CloudFormation models below are among
CloudFormationModel.__subclasses__() when moto's stack parser first lists them.

- EventBridge TestEventPattern: moto answers it with an empty body. Here it uses moto's own matcher,
  the one PutEvents routes with, so a pattern matches here exactly when moto would deliver the event.
- EventBridge hands a target without an input transformer the whole event; moto's default template
  leaves out its `account`. Here the template has every field of the envelope, in EventBridge's order.
- A schedule rule (no event pattern) matches no event put on its bus; moto matched every one, and,
  its target being a Lambda function it cannot deliver to, failed the whole PutEvents with HTTP 500.
- AWS::Lambda::Function drops Architectures (every function becomes x86_64).
- AWS::IAM::Role stores inline policies as Python dicts, so GetRolePolicy answers with their repr
  ({'Version': ...}) instead of JSON.
- AWS::SQS::QueuePolicy, AWS::Lambda::EventInvokeConfig, AWS::CloudWatch::Alarm and
  AWS::IAM::RolePolicy are not modelled:
  moto skips them with a warning. Each is mapped onto the API call CloudFormation makes.

- EC2 StartInstances leaves LaunchTime where the first launch put it; EC2 moves it to the start
  ("the time that the instance was last launched"), which is how a stop and start is told apart.
- RunInstances: an instance of the bed has run for an hour when a test first sees it, as the node of
  a cluster has before it is interrupted, so an event dated a while back (a late Spot warning) is
  still dated after the launch, as every genuine event about that instance is.

- Auto Scaling TerminateInstanceInAutoScalingGroup ignores lifecycle hooks: moto detaches and
  terminates the instance at once. Behind a terminate hook Auto Scaling holds it, still running and
  still in its group, in `Terminating:Wait` until the hook is completed or times out; that is the
  state DescribeAutoScalingInstances confirms a terminate hook's event with.
- Auto Scaling CreateAutoScalingGroup replaces a group of the same name, dropping its instances;
  Auto Scaling answers AlreadyExists, which test files sharing a group rely on.
- EC2 scheduled events (DescribeInstanceStatus's Events) and an instance's Capacity Reservation
  (CapacityReservationId), and a Dedicated Host's placement (moto says every instance has default
  tenancy), have no API to create them in AWS either (EC2 schedules the one; the other
  needs CreateCapacityReservation, which moto lacks): moto serializes both from the instance's
  attributes, which the bed's control API (moto_server.py) sets.

Still not modelled, and not added: AWS::EKS::AccessEntry (moto has no access-entry API) and
AWS::S3::BucketPolicy (osls's own deployment bucket policy).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import threading

from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.models import AutoScalingBackend, TerminateInstanceActivity
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.utils import utcnow
from moto.ec2.models.instances import Instance, InstanceState
from moto.events.models import EventPattern, Rule
from moto.events.responses import EventsHandler
from moto.events.utils import EventTemplateParser
from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition
from moto.sqs.models import sqs_backends

# TestEventPattern rejects an event without these (the EventBridge API reference's list).
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def test_event_pattern(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    try:
        event = json.loads(self._get_param("Event"))
    except (TypeError, json.JSONDecodeError):
        return self.error("ValidationException", "Parameter Event is not valid.")
    if not isinstance(event, dict) or any(field not in event for field in REQUIRED_EVENT_FIELDS):
        return self.error("ValidationException", "Parameter Event is not valid.")
    pattern = EventPattern.load(self._get_param("EventPattern"))
    return self._create_response({"Result": pattern.matches_event(event)})


EventsHandler.test_event_pattern = test_event_pattern  # type: ignore[method-assign]

_send_to_targets = Rule.send_to_targets


def _send_to_targets_of_pattern_rules(self: Rule, *args: Any, **kwargs: Any) -> None:
    if not self.event_pattern.get_pattern():
        return
    _send_to_targets(self, *args, **kwargs)


Rule.send_to_targets = _send_to_targets_of_pattern_rules  # type: ignore[method-assign]

# `time` is a number here: the queue target formats it (moto's _send_to_sqs_queue), as before.
EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)

_init_instance = Instance.__init__


def _init_instance_launched_an_hour_ago(self: Instance, *args: Any, **kwargs: Any) -> None:
    _init_instance(self, *args, **kwargs)
    self.launch_time = utcnow() - timedelta(hours=1)


Instance.__init__ = _init_instance_launched_an_hour_ago  # type: ignore[method-assign]

_start_instance = Instance.start


def _start_and_move_launch_time(self: Instance) -> InstanceState:
    previous = _start_instance(self)
    if previous.name != "running":
        self.launch_time = utcnow()
    return previous


Instance.start = _start_and_move_launch_time  # type: ignore[method-assign]

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
_terminate_in_group = AutoScalingBackend.terminate_instance


def _terminate_behind_hooks(
    self: AutoScalingBackend, instance_id: str, should_decrement: bool
) -> TerminateInstanceActivity:
    state = next(
        (s for g in self.autoscaling_groups.values() for s in g.instance_states if s.instance.id == instance_id),
        None,
    )
    group = state.auto_scaling_group if state is not None else None
    hooked = group is not None and any(
        hook.auto_scaling_group_name == group.name and hook.lifecycle_transition == TERMINATING
        for hook in self.lifecycle_hooks.values()
    )
    if state is None or not hooked:
        return _terminate_in_group(self, instance_id, should_decrement)
    state.lifecycle_state = "Terminating:Wait"
    return TerminateInstanceActivity(state.instance, group.desired_capacity)


AutoScalingBackend.terminate_instance = _terminate_behind_hooks  # type: ignore[method-assign]

_create_group = AutoScalingBackend.create_auto_scaling_group
_create_group_lock = threading.Lock()  # moto's server answers requests on several threads


def _create_group_once(self: AutoScalingBackend, name: str, *args: Any, **kwargs: Any) -> Any:
    with _create_group_lock:
        if name in self.autoscaling_groups:
            raise AutoscalingClientError(
                "AlreadyExists", f"AutoScalingGroup by this name already exists - A group with the name {name} already exists"
            )
        return _create_group(self, name, *args, **kwargs)


AutoScalingBackend.create_auto_scaling_group = _create_group_once  # type: ignore[method-assign]

_create_function = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_function_with_architectures(
    cls: type[LambdaFunction],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LambdaFunction:
    fn = _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    architectures = cloudformation_json["Properties"].get("Architectures")
    if architectures:
        fn.architectures = architectures
    return fn


LambdaFunction.create_from_cloudformation_json = classmethod(_create_function_with_architectures)  # type: ignore[method-assign,assignment]

_create_role = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_role_with_json_policies(
    cls: type[Role],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Role:
    properties = dict(cloudformation_json["Properties"])
    properties["Policies"] = [
        {**policy, "PolicyDocument": json.dumps(policy["PolicyDocument"])}
        if not isinstance(policy["PolicyDocument"], str)
        else policy
        for policy in properties.get("Policies", [])
    ]
    return _create_role(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)


Role.create_from_cloudformation_json = classmethod(_create_role_with_json_policies)  # type: ignore[method-assign,assignment]


class _StackOnly:
    """Shared plumbing: a resource that lives in another backend and is found again by name.

    A mixin, not a base: moto lists only the direct subclasses of CloudFormationModel.
    """

    def __init__(self, physical_resource_id: str) -> None:
        self._physical_resource_id = physical_resource_id

    @property
    def physical_resource_id(self) -> str:
        return self._physical_resource_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True


class SqsQueuePolicy(_StackOnly, CloudFormationModel):
    """AWS::SQS::QueuePolicy: SetQueueAttributes(Policy) on each queue, removed again on delete."""

    # moto files every model under the service named by its module (moto.<service>...).
    __module__ = "moto.sqs.testbed"

    def __init__(self, physical_resource_id: str, queue_urls: list[str]) -> None:
        super().__init__(physical_resource_id)
        self.queue_urls = queue_urls

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SqsQueuePolicy:
        properties = cloudformation_json["Properties"]
        queue_urls = list(properties["Queues"])
        policy = json.dumps(properties["PolicyDocument"])
        backend = sqs_backends[account_id][region_name]
        for url in queue_urls:
            backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": policy})
        return cls(resource_name, queue_urls)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        original_resource: SqsQueuePolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SqsQueuePolicy:
        return cls.create_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sqs_backends[account_id][region_name]
        for url in self.queue_urls:
            name = url.rsplit("/", 1)[-1]
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": ""})


class LambdaEventInvokeConfig(_StackOnly, CloudFormationModel):
    """AWS::Lambda::EventInvokeConfig: PutFunctionEventInvokeConfig, deleted with the resource."""

    # moto files every model under the service named by its module (moto.<service>...).
    __module__ = "moto.awslambda.testbed"

    def __init__(self, physical_resource_id: str, function_name: str) -> None:
        super().__init__(physical_resource_id)
        self.function_name = function_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaEventInvokeConfig:
        properties = cloudformation_json["Properties"]
        function_name = properties["FunctionName"]
        config = {
            key: properties[key]
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if key in properties
        }
        lambda_backends[account_id][region_name].put_function_event_invoke_config(function_name, config)
        return cls(resource_name, function_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        original_resource: LambdaEventInvokeConfig,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaEventInvokeConfig:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = lambda_backends[account_id][region_name]
        if any(self.function_name == name for name in backend._lambdas._functions):
            backend.get_function(self.function_name).event_invoke_config = []


class CloudWatchAlarm(_StackOnly, CloudFormationModel):
    """AWS::CloudWatch::Alarm (single-metric alarms): PutMetricAlarm, DeleteAlarms on delete."""

    # moto files every model under the service named by its module (moto.<service>...).
    __module__ = "moto.cloudwatch.testbed"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudWatchAlarm:
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            metric_data_queries=None,
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions"),
            insufficient_data_actions=p.get("InsufficientDataActions"),
            unit=p.get("Unit"),
            actions_enabled=p.get("ActionsEnabled", True),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        original_resource: CloudWatchAlarm,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudWatchAlarm:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_resource_id])


class IamRolePolicy(_StackOnly, CloudFormationModel):
    """AWS::IAM::RolePolicy: PutRolePolicy on the role (a JSON document), DeleteRolePolicy on delete."""

    # moto files every model under the service named by its module (moto.<service>...).
    __module__ = "moto.iam.testbed"

    def __init__(self, physical_resource_id: str, role_name: str, policy_name: str) -> None:
        super().__init__(physical_resource_id)
        self.role_name = role_name
        self.policy_name = policy_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::RolePolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> IamRolePolicy:
        properties = cloudformation_json["Properties"]
        role_name = properties["RoleName"]
        policy_name = properties["PolicyName"]
        document = properties["PolicyDocument"]
        iam_backends[account_id][get_partition(region_name)].put_role_policy(
            role_name, policy_name, document if isinstance(document, str) else json.dumps(document)
        )
        return cls(f"{role_name}|{policy_name}", role_name, policy_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc,override]
        cls,
        original_resource: IamRolePolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> IamRolePolicy:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        try:
            backend.delete_role_policy(self.role_name, self.policy_name)
        except Exception:  # noqa: BLE001 - the role may be gone first; nothing is left either way
            pass
