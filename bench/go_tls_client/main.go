// SPDX-License-Identifier: MIT
//
// The Go client of tls_overhead.sh's go mode: net/http over Go's own
// crypto/tls (HTTP/1.1) against tls_work's download server. Prints
// "ready PID", waits for a line on stdin (the tracer attaches meanwhile),
// then sends one request and reads the whole answer:
//
//	get   a download (sonde llm skips it in the kernel: not a POST)
//	post  a POST to /v1/chat/completions (sonde copies every byte of the
//	      answer to its collector)
//
// prints "bytes N seconds S". usage: go_tls_client get|post URL
package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "get" && os.Args[1] != "post") {
		fmt.Fprintln(os.Stderr, "usage: go_tls_client get|post URL")
		os.Exit(2)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	c := &http.Client{Transport: tr}
	fmt.Println("ready", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
	start := time.Now()
	var resp *http.Response
	var err error
	if os.Args[1] == "get" {
		resp, err = c.Get(os.Args[2])
	} else {
		resp, err = c.Post(os.Args[2]+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt-bench","messages":[{"role":"user","content":"hi"}]}`))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_tls_client:", err)
		os.Exit(1)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_tls_client:", err)
		os.Exit(1)
	}
	fmt.Printf("bytes %d seconds %.6f\n", n, time.Since(start).Seconds())
}
