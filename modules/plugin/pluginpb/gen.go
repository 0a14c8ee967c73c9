// Package pluginpb is the generated Go code for brine_plugin.proto, the
// gRPC protocol between brine and its plugins. Edit the .proto, never the
// generated files; README.md ("Writing a plugin") says how to regenerate.
// The same directive regenerates the Python example plugin's messages.
package pluginpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative brine_plugin.proto
//go:generate protoc --python_out=../../../examples/plugins/jsonconf-python/src brine_plugin.proto
