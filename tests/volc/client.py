"""Calls every action of assetlib's Volcengine-style face with the `volcengine` package from
PyPI (its SignerV4 and generic Service/ApiInfo classes), as a team that built on Volcengine's
asset library would. Run by tests/e2e/volc.rs with ASSETLIB_HOST, ASSETLIB_AK, ASSETLIB_SK and
ASSETLIB_IMAGE_URL set; prints one JSON line and exits 0 when every check holds."""
import json
import os
import re
import sys
import time

from volcengine.ApiInfo import ApiInfo
from volcengine.Credentials import Credentials
from volcengine.ServiceInfo import ServiceInfo
from volcengine.base.Service import Service

ACTIONS = [
    "CreateAssetGroup", "GetAssetGroup", "ListAssetGroups", "UpdateAssetGroup", "DeleteAssetGroup",
    "CreateAsset", "GetAsset", "ListAssets", "UpdateAsset", "DeleteAsset",
]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

info = ServiceInfo(
    os.environ["ASSETLIB_HOST"],
    {"Accept": "application/json"},
    Credentials(os.environ["ASSETLIB_AK"], os.environ["ASSETLIB_SK"], "ark", "cn-beijing"),
    10,
    30,
    scheme="http",
)
apis = {a: ApiInfo("POST", "/", {"Action": a, "Version": "2024-01-01"}, {}, {}) for a in ACTIONS}
service = Service(info, apis)


def call(action, body):
    answer = json.loads(service.json(action, {}, json.dumps(body)))
    meta = answer["ResponseMetadata"]
    assert meta["Action"] == action and meta["Version"] == "2024-01-01", meta
    assert meta["Service"] == "ark" and meta["Region"] == "cn-beijing", meta
    assert meta["RequestId"], meta
    return answer["Result"]


def refused(action, body, code):
    try:
        service.json(action, {}, json.dumps(body))
    except Exception as e:  # the SDK raises with the answer's text
        text = e.args[0].decode() if isinstance(e.args[0], bytes) else str(e.args[0])
        error = json.loads(text)["ResponseMetadata"]["Error"]
        assert error["Code"] == code, error
        return error["Message"]
    raise AssertionError(f"{action} was not refused")


group = call("CreateAssetGroup", {"Name": "Heroes", "Description": "Main cast", "GroupType": "AIGC",
                                  "ProjectName": "default"})["Id"]
assert re.match(r"^group-\d{14}-[0-9a-z]{5}$", group), group
message = refused("CreateAssetGroup", {"Name": "Faces", "GroupType": "LivenessFace"},
                  "InvalidParameter.GroupType")
assert "LivenessFace" in message, message
got = call("GetAssetGroup", {"Id": group})
assert got["Name"] == "Heroes" and got["GroupType"] == "AIGC" and ISO.match(got["CreateTime"]), got
listed = call("ListAssetGroups", {"Filter": {"GroupType": "AIGC", "Name": "hero"}, "PageNumber": 1,
                                  "PageSize": 10})
assert listed["TotalCount"] == 1 and listed["Items"][0]["Id"] == group, listed
call("UpdateAssetGroup", {"Id": group, "Name": "Heroes 2", "Description": "All"})
assert call("GetAssetGroup", {"Id": group})["Name"] == "Heroes 2"

asset = call("CreateAsset", {"GroupId": group, "URL": os.environ["ASSETLIB_IMAGE_URL"],
                             "AssetType": "Image", "Name": "one", "ProjectName": "default"})["Id"]
assert re.match(r"^asset-\d{14}-[0-9a-z]{5}$", asset), asset
refused("CreateAsset", {"GroupId": group, "URL": "ftp://example.com/a.png", "AssetType": "Image"},
        "InvalidParameter")
for _ in range(300):
    got = call("GetAsset", {"Id": asset})
    if got["Status"] != "Processing":
        break
    time.sleep(0.1)
assert got["Status"] == "Active", got
assert got["URL"].startswith("http") and "sig=" in got["URL"], got
assert got["GroupId"] == group and got["AssetType"] == "Image" and got["Name"] == "one", got
assert ISO.match(got["CreateTime"]) and ISO.match(got["UpdateTime"]), got
listed = call("ListAssets", {"Filter": {"GroupIds": [group], "Statuses": ["Active"]},
                             "PageNumber": 1, "PageSize": 10, "SortBy": "CreateTime",
                             "SortOrder": "Asc"})
assert listed["TotalCount"] == 1 and listed["Items"][0]["Id"] == asset, listed
assert listed["PageNumber"] == 1 and listed["PageSize"] == 10, listed
call("UpdateAsset", {"Id": asset, "Name": "renamed"})
assert call("GetAsset", {"Id": asset})["Name"] == "renamed"
refused("DeleteAssetGroup", {"Id": group}, "OperationDenied.AssetGroupNotEmpty")
refused("GetAsset", {"Id": "asset-20200101000000-zzzzz"}, "NotFound.Asset")
call("DeleteAsset", {"Id": asset})
refused("GetAsset", {"Id": asset}, "NotFound.Asset")
call("DeleteAssetGroup", {"Id": group})
refused("GetAssetGroup", {"Id": group}, "NotFound.AssetGroup")
print(json.dumps({"actions": ACTIONS, "group": group, "asset": asset}))
sys.exit(0)
