package baton_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/baton-go/baton"
	"github.com/klauspost/compress/zstd"
)

// decode returns body decoded from the content coding enc.
func decode(t *testing.T, enc string, body []byte) string {
	t.Helper()
	switch enc {
	case "":
		return string(body)
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		return string(out)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		return string(out)
	}
	t.Fatalf("unknown encoding %q", enc)
	return ""
}

func TestCompress(t *testing.T) {
	big := strings.Repeat("compressible text, ", 400) // 7.6 kB
	file := filepath.Join(t.TempDir(), "page.txt")
	if err := os.WriteFile(file, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.Use(baton.Compress(baton.CompressConfig{}))
	s.BindHandler("/big", func(r *baton.Request) { r.Response.Write(big) })
	s.BindHandler("/small", func(r *baton.Request) { r.Response.Write("tiny") })
	s.BindHandler("/png", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "image/png")
		r.Response.Write(big)
	})
	s.BindHandler("/etag", func(r *baton.Request) {
		r.Response.Header().Set("ETag", `"v1"`)
		r.Response.ServeFile(file)
	})
	s.BindHandler("/file", func(r *baton.Request) { r.Response.ServeFile(file) })
	s.BindHandler("/status", func(r *baton.Request) { r.Response.WriteStatus(http.StatusTeapot, big) })
	s.BindHandler("/sse", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "text/event-stream")
		r.Response.Write("data: " + big + "\n\n")
		r.Response.Flush()
		r.Response.Write("data: end\n\n")
	})
	s.BindHandler("/flushed", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "text/plain")
		r.Response.Write(big)
		r.Response.Flush()
		r.Response.Write(big)
	})
	s.BindHandler("/precompressed", func(r *baton.Request) {
		r.Response.Header().Set("Content-Encoding", "br")
		r.Response.Write(big)
	})
	s.BindHandler("/exit", func(r *baton.Request) { r.Response.WriteExit(big) })
	srv := httptest.NewServer(s)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()

	tests := []struct {
		name, method, path string
		header             []string
		code               int
		enc                string // Content-Encoding wanted
		body               string
		want               map[string]string
	}{
		{name: "gzip", path: "/big", header: []string{"Accept-Encoding", "gzip"}, code: 200, enc: "gzip", body: big,
			want: map[string]string{"Vary": "Accept-Encoding"}},
		{name: "zstd preferred", path: "/big", header: []string{"Accept-Encoding", "gzip, deflate, br, zstd"}, code: 200, enc: "zstd", body: big},
		{name: "gzip by q-value", path: "/big", header: []string{"Accept-Encoding", "zstd;q=0.5, gzip"}, code: 200, enc: "gzip", body: big},
		{name: "no Accept-Encoding", path: "/big", code: 200, body: big, want: map[string]string{"Vary": "Accept-Encoding"}},
		{name: "identity only", path: "/big", header: []string{"Accept-Encoding", "identity"}, code: 200, body: big},
		{name: "small body", path: "/small", header: []string{"Accept-Encoding", "gzip"}, code: 200, body: "tiny"},
		{name: "compressed type", path: "/png", header: []string{"Accept-Encoding", "gzip"}, code: 200, body: big},
		{name: "status kept", path: "/status", header: []string{"Accept-Encoding", "gzip"}, code: 418, enc: "gzip", body: big},
		{name: "file", path: "/file", header: []string{"Accept-Encoding", "gzip"}, code: 200, enc: "gzip", body: big,
			want: map[string]string{"Accept-Ranges": ""}},
		{name: "strong ETag made weak", path: "/etag", header: []string{"Accept-Encoding", "gzip"}, code: 200, enc: "gzip", body: big,
			want: map[string]string{"Etag": `W/"v1"`}},
		{name: "weak ETag revalidates", path: "/etag", header: []string{"Accept-Encoding", "gzip", "If-None-Match", `W/"v1"`}, code: 304},
		{name: "identity ETag stays strong", path: "/etag", code: 200, body: big, want: map[string]string{"Etag": `"v1"`}},
		{name: "range of the file", path: "/file", header: []string{"Accept-Encoding", "gzip", "Range", "bytes=0-10"}, code: 206,
			body: big[:11], want: map[string]string{"Content-Range": "bytes 0-10/" + strconv.Itoa(len(big))}},
		{name: "HEAD", method: "HEAD", path: "/big", header: []string{"Accept-Encoding", "gzip"}, code: 200},
		{name: "server-sent events", path: "/sse", header: []string{"Accept-Encoding", "gzip"}, code: 200,
			body: "data: " + big + "\n\ndata: end\n\n"},
		{name: "flushed stream", path: "/flushed", header: []string{"Accept-Encoding", "gzip"}, code: 200, body: big + big},
		{name: "own Content-Encoding", path: "/precompressed", header: []string{"Accept-Encoding", "gzip, br"}, code: 200, enc: "br", body: big},
		{name: "after Exit", path: "/exit", header: []string{"Accept-Encoding", "gzip"}, code: 200, enc: "gzip", body: big},
		{name: "WebSocket upgrade", path: "/big", header: []string{"Accept-Encoding", "gzip", "Upgrade", "websocket", "Connection", "Upgrade"},
			code: 200, body: big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, srv.URL+tt.path, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code {
				t.Fatalf("%s %s: status %d, want %d", method, tt.path, resp.StatusCode, tt.code)
			}
			enc := resp.Header.Get("Content-Encoding")
			if enc != tt.enc {
				t.Fatalf("%s %s: Content-Encoding %q, want %q", method, tt.path, enc, tt.enc)
			}
			if enc != "br" {
				if got := decode(t, enc, raw); got != tt.body {
					t.Errorf("%s %s: body of %d bytes, want %d", method, tt.path, len(got), len(tt.body))
				}
			}
			if resp.ContentLength >= 0 && method != "HEAD" && resp.ContentLength != int64(len(raw)) {
				t.Errorf("%s %s: Content-Length %d for %d bytes", method, tt.path, resp.ContentLength, len(raw))
			}
			for k, v := range tt.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", method, tt.path, k, got, v)
				}
			}
		})
	}
}

// TestCompressContentLength checks that a compressed response that fits
// the buffer is sent with the length of its compressed bytes, not
// chunked.
func TestCompressContentLength(t *testing.T) {
	s := newServer(t)
	s.Use(baton.MiddlewareGzip)
	big := strings.Repeat("abcdefgh", 10000)
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write(big) })
	srv := httptest.NewServer(s)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ContentLength != int64(len(raw)) || len(resp.TransferEncoding) != 0 {
		t.Fatalf("Content-Length %d, Transfer-Encoding %v, for %d compressed bytes", resp.ContentLength, resp.TransferEncoding, len(raw))
	}
	if decode(t, "gzip", raw) != big {
		t.Fatal("body differs")
	}
}
