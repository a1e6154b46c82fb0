"""What only SAM's translation of infra/template.yaml shows, checked offline with the SAM
translator `sam validate` uses (no account, region or network):

1. Every translation of the REST API gets a new AWS::ApiGateway::Deployment and the stage
   points at it (AlwaysDeploy). SAM otherwise names the deployment after a hash of the body
   taken before parameters are substituted: a new BackendUrl, AuthorizerCacheSeconds or
   OriginVerifySecret would leave the stage on the old deployment.
2. The REST stage and the HTTP API's auto-deploying stage log to the access-log group.
3. The usage plans and the WAF association reference the REST stage resource, so
   CloudFormation creates them after it.
4. The stage throttles every route and, tighter, the credential endpoints.

Run by tests/deploy/check.sh with the SAM CLI virtualenv's Python.
"""

import logging
import os
import sys
import time

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "infra", "template.yaml")


class NoManagedPolicies:
    """The template attaches no SAM policy templates; nothing to look up in IAM."""

    def load(self):
        return {}


def translate():
    with open(TEMPLATE, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # As `sam validate` does: the code location is not what is checked here.
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    return transform(template, {"Stage": "dev"}, NoManagedPolicies())["Resources"]


def only(resources, kind):
    found = [(name, body) for name, body in resources.items() if body["Type"] == kind]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {[name for name, _ in found]}")
    return found[0]


def main():
    # The translator logs feature-toggle and metrics notes that say nothing about the template.
    logging.disable(logging.WARNING)
    problems = []

    def check(condition, message):
        if not condition:
            problems.append(message)

    first = translate()
    # SAM's AlwaysDeploy hash is the translation time in whole seconds.
    time.sleep(1.1)
    second = translate()
    first_deployment, _ = only(first, "AWS::ApiGateway::Deployment")
    second_deployment, _ = only(second, "AWS::ApiGateway::Deployment")
    check(
        first_deployment != second_deployment,
        f"the REST deployment keeps its logical id ({first_deployment}) across deploys",
    )
    stage_name, stage = only(second, "AWS::ApiGateway::Stage")
    check(
        stage["Properties"]["DeploymentId"] == {"Ref": second_deployment},
        "the REST stage does not point at the new deployment",
    )
    log_group = {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    check(
        stage["Properties"].get("AccessLogSetting", {}).get("DestinationArn") == log_group,
        "the REST stage does not log to ApiAccessLogGroup",
    )
    throttled = {
        (setting["ResourcePath"], setting["HttpMethod"])
        for setting in stage["Properties"].get("MethodSettings", [])
        if "ThrottlingRateLimit" in setting and "ThrottlingBurstLimit" in setting
    }
    for route in [("/*", "*"), ("/~1token", "POST"), ("/~1login", "POST"), ("/~1register", "*")]:
        check(route in throttled, f"the REST stage does not throttle {route}")

    _, http_stage = only(second, "AWS::ApiGatewayV2::Stage")
    check(http_stage["Properties"].get("AutoDeploy") is True, "the HTTP API stage does not auto-deploy")
    check(
        http_stage["Properties"].get("AccessLogSettings", {}).get("DestinationArn") == log_group,
        "the HTTP API stage does not log to ApiAccessLogGroup",
    )
    check(
        "ThrottlingRateLimit" in http_stage["Properties"].get("DefaultRouteSettings", {}),
        "the HTTP API stage has no default throttling",
    )

    stage_ref = {"Ref": stage_name}
    plans = [body for body in second.values() if body["Type"] == "AWS::ApiGateway::UsagePlan"]
    check(plans, "no usage plans")
    for plan in plans:
        stages = plan["Properties"]["ApiStages"]
        check(
            [entry["Stage"] for entry in stages] == [stage_ref],
            f"usage plan {plan['Properties']['UsagePlanName']} is not on the REST stage resource",
        )
    _, association = only(second, "AWS::WAFv2::WebACLAssociation")
    check(
        stage_ref in association["Properties"]["ResourceArn"]["Fn::Sub"][1].values(),
        "the WAF association does not reference the REST stage resource",
    )

    if problems:
        for problem in problems:
            print(f"translate_check: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"translate_check: REST deployment {first_deployment} -> {second_deployment}; stage, plans and WAF wired")


if __name__ == "__main__":
    main()
