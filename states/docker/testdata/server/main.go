// Command server is the program inside the test images: a tiny static HTTP
// server for a FROM scratch image. It answers on $PORT (default 8080) with
// $GREETING, logs one line when it starts and, on /write?name=N, writes a
// file under /data (the test's volume). It exits on SIGTERM at once: as PID 1 in a container, a process
// without a handler would ignore the signal and stall every stop.
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
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s\n", os.Getenv("GREETING"))
	})
	http.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Query().Get("name"))
		if err := os.WriteFile(filepath.Join("/data", name), []byte("written\n"), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	fmt.Println("listening on :" + port)
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
