// Command server is the demo application of examples/docker: a static HTTP
// server that fits in a FROM scratch image. It answers on :8080 with
// $GREETING and the replica it is, counts its hits in /data (the shared
// volume), and exits promptly on SIGTERM (as PID 1 it must handle it).
//
//	CGO_ENABLED=0 go build -o examples/docker/salt/app/image/server ./examples/docker/server
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	replica := os.Getenv("REPLICA")
	hits := filepath.Join("/data", "hits-"+replica)
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		f, err := os.OpenFile(hits, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = f.WriteString(".")
			_ = f.Close()
		}
		fmt.Fprintf(w, "%s from replica %s\n", os.Getenv("GREETING"), replica)
	})
	fmt.Println("replica", replica, "listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
