"""jsonconf: a brine plugin written in Python.

It manages keys of JSON configuration files (Docker's daemon.json, a web
app's settings.json...): the execution function jsonconf.get reads one,
the state function jsonconf.keys_present makes sure keys have the declared
values. It speaks brine's plugin protocol with nothing but the grpcio and
protobuf packages (Debian: python3-grpcio, python3-protobuf), to show what
a plugin in another language than Go must do:

1. Refuse to run unless BRINE_PLUGIN holds brine's magic cookie, and
   check that PLUGIN_PROTOCOL_VERSIONS offers protocol version 1.
2. Serve gRPC on a Unix socket and print go-plugin's handshake line on
   stdout: 1|1|unix|<socket>|grpc
3. Serve the gRPC health service (service "plugin" is SERVING), the
   Base and Module services of brine_plugin.proto, and go-plugin's
   GRPCController.Shutdown (exit when brine stops the plugin). The
   GRPCBroker and GRPCStdio streams are accepted and left idle: this plugin
   makes no callbacks into brine.
4. Log by writing hclog JSON lines on stderr.

Build it into one executable file with zipapp (see README.md).
"""

import datetime
import json
import os
import sys
import tempfile
import threading
from concurrent import futures

import grpc

import brine_plugin_pb2 as pb

COOKIE_KEY = "BRINE_PLUGIN"
COOKIE_VALUE = "c1e9f0a4-brine-module-plugin"
PROTOCOL_VERSION = 1
NAME = "jsonconf"
VERSION = "1.0.0"

stopping = threading.Event()


def log(level, message, **fields):
    """Write one hclog JSON line; brine logs it with the plugin's name."""
    now = datetime.datetime.now(datetime.timezone.utc)
    record = {"@level": level, "@message": message,
              "@timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    record.update(fields)
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


# --- the functions -------------------------------------------------------

GET_DOC = """Return the value at key (dotted: "log-opts.max-size") in a JSON file,
or the whole document when key is not given; None when the key is not set.

    brine call --local jsonconf.get /etc/docker/daemon.json log-driver"""

KEYS_PRESENT_DOC = """Make sure keys of a JSON file have the declared values. Keys are dotted
paths ("log-opts.max-size"); other keys are left alone. A missing file is
created. Changes are reported per key as {old, new}.

    /etc/docker/daemon.json:
      jsonconf.keys_present:
        - keys:
            log-driver: json-file
            log-opts.max-size: 10m
        - indent: 2"""


class FunctionError(Exception):
    """A failure reported to brine as the function's own error."""


def lookup(doc, key):
    cur = doc
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None, False
        cur = cur[part]
    return cur, True


def assign(doc, key, value):
    parts = key.split(".")
    cur = doc
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.strip():
        return {}
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise FunctionError("%s does not hold a JSON object" % path)
    return doc


def bind(params, args, kwargs):
    """Positional arguments by parameter name, refusing unknown keywords."""
    if len(args) > len(params):
        raise FunctionError("takes at most %d positional arguments" % len(params))
    out = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    for name, value in zip(params, args):
        out[name] = value
    for k in out:
        if k not in params:
            raise FunctionError("unknown argument '%s'" % k)
    return out


def jsonconf_get(env, args, kwargs):
    a = bind(["path", "key"], args, kwargs)
    if not a.get("path"):
        raise FunctionError("path is required")
    try:
        doc = read_json(a["path"])
    except ValueError as e:
        raise FunctionError("%s: %s" % (a["path"], e))
    if doc is None:
        raise FunctionError("%s: no such file" % a["path"])
    if a.get("key") is None:
        return doc
    value, _ = lookup(doc, str(a["key"]))
    return value


def keys_present(req, args):
    path = req.name
    keys = args.get("keys") or {}
    indent = args.get("indent", 2)
    if not isinstance(keys, dict):
        return pb.StateResponse.RESULT_FALSE, "keys must be a mapping", {}
    try:
        doc = read_json(path)
    except (ValueError, FunctionError) as e:
        return pb.StateResponse.RESULT_FALSE, "%s: %s" % (path, e), {}
    if doc is None:
        doc = {}
    changes = {}
    for key in sorted(keys):
        old, found = lookup(doc, key)
        if found and old == keys[key]:
            continue
        changes[key] = {"old": old, "new": keys[key]}
        assign(doc, key, keys[key])
    if not changes:
        return pb.StateResponse.RESULT_TRUE, "%s is in the correct state" % path, {}
    if req.test:
        return pb.StateResponse.RESULT_NONE, "%s would be updated" % path, changes
    directory = os.path.dirname(path) or "."
    mode = 0o644
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=int(indent), sort_keys=True)
            f.write("\n")
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        return pb.StateResponse.RESULT_FALSE, "cannot write %s: %s" % (path, e), {}
    log("info", "updated", path=path, keys=sorted(changes))
    return pb.StateResponse.RESULT_TRUE, "%s updated" % path, changes


# --- the protocol --------------------------------------------------------

def info():
    kind = pb.Function.KIND_EXEC
    return pb.InfoResponse(
        name=NAME, version=VERSION, protocol_version=PROTOCOL_VERSION,
        functions=[
            pb.Function(name="jsonconf.get", kind=kind, doc=GET_DOC, params=["path", "key"],
                        args=[pb.Argument(name="path", type="string"),
                              pb.Argument(name="key", type="string")]),
            pb.Function(name="jsonconf.keys_present", kind=pb.Function.KIND_STATE, doc=KEYS_PRESENT_DOC,
                        args=[pb.Argument(name="keys", type="map", doc="dotted key: value"),
                              pb.Argument(name="indent", type="int", doc="indentation, default 2")]),
        ])


def decode(b, default):
    return json.loads(b) if b else default


def get_info(request, context):
    return info()


def exec_(request, context):
    try:
        if request.function != "jsonconf.get":
            return pb.ExecResponse(error=pb.Error(kind=pb.Error.KIND_UNKNOWN_FUNCTION,
                                                  message="'%s' is not provided by plugin %s" % (request.function, NAME)))
        ret = jsonconf_get(request.env, decode(request.args_json, []), decode(request.kwargs_json, {}))
        return pb.ExecResponse(return_json=json.dumps(ret).encode())
    except FunctionError as e:
        return pb.ExecResponse(error=pb.Error(message="%s: %s" % (request.function, e)))


def state(request, context):
    if request.function != "jsonconf.keys_present":
        return pb.StateResponse(error=pb.Error(kind=pb.Error.KIND_UNKNOWN_FUNCTION,
                                               message="state '%s' is not provided by plugin %s" % (request.function, NAME)))
    try:
        result, comment, changes = keys_present(request, decode(request.args_json, {}))
    except Exception as e:  # a bug here fails the state, not the plugin
        log("error", "state function failed", error=repr(e))
        result, comment, changes = pb.StateResponse.RESULT_FALSE, "jsonconf.keys_present: %r" % e, {}
    return pb.StateResponse(result=result, comment=comment, changes_json=json.dumps(changes).encode())


def health_check(request, context):
    return b"\x08\x01"  # grpc.health.v1.HealthCheckResponse{status: SERVING}


def shutdown(request, context):
    stopping.set()
    return b""  # plugin.Empty


def broker_stream(requests, context):
    for _ in requests:  # connection offers for callbacks; not used here
        pass
    return iter(())


def stdio_stream(request, context):
    stopping.wait()
    return iter(())


def unary(fn, req=None, resp=None):
    return grpc.unary_unary_rpc_method_handler(
        fn,
        request_deserializer=req.FromString if req else None,
        response_serializer=resp.SerializeToString if resp else None)


def main():
    if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
        sys.stderr.write("This is a brine plugin; brine runs it. Put it in a plugin directory.\n")
        sys.exit(1)
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in offered:
        log("error", "brine does not speak this plugin's protocol version", offered=offered)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": unary(health_check)}),
        grpc.method_handlers_generic_handler("plugin.GRPCController", {"Shutdown": unary(shutdown)}),
        grpc.method_handlers_generic_handler("plugin.GRPCBroker", {
            "StartStream": grpc.stream_stream_rpc_method_handler(broker_stream)}),
        grpc.method_handlers_generic_handler("plugin.GRPCStdio", {
            "StreamStdio": grpc.unary_stream_rpc_method_handler(stdio_stream)}),
        grpc.method_handlers_generic_handler("brine.plugin.v1.Base", {
            "GetInfo": unary(get_info, pb.InfoRequest, pb.InfoResponse)}),
        grpc.method_handlers_generic_handler("brine.plugin.v1.Module", {
            "Exec": unary(exec_, pb.ExecRequest, pb.ExecResponse),
            "State": unary(state, pb.StateRequest, pb.StateResponse)}),
    ))
    sockdir = tempfile.mkdtemp(prefix="brine-plugin-", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR"))
    sock = os.path.join(sockdir, "plugin.sock")
    server.add_insecure_port("unix:" + sock)
    server.start()
    try:
        sys.stdout.write("1|%d|unix|%s|grpc\n" % (PROTOCOL_VERSION, sock))
        sys.stdout.flush()
        stopping.wait()
        server.stop(grace=1).wait()
    finally:
        try:
            os.unlink(sock)
        except OSError:
            pass
        os.rmdir(sockdir)


if __name__ == "__main__":
    main()
