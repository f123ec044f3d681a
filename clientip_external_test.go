package baton_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

func TestGetClientIp(t *testing.T) {
	plain := newServer(t)
	behind := func(header string) *baton.Server {
		s := newServer(t)
		c := s.Config()
		c.TrustedProxies = []string{"10.9.9.9", "10.8.0.0/16"}
		c.ClientIPHeader = header
		if err := s.SetConfig(c); err != nil {
			t.Fatal(err)
		}
		return s
	}
	xff, realIP, fwd := behind(""), behind("x-real-ip"), behind("Forwarded")
	tests := []struct {
		name    string
		s       *baton.Server
		remote  string
		headers []string
		want    string
	}{
		{"peer v4", plain, "192.0.2.7:5000", nil, "192.0.2.7"},
		{"peer v6", plain, "[2001:db8::1]:5000", nil, "2001:db8::1"},
		{"headers of an untrusted peer", plain, "192.0.2.7:5000", []string{"X-Forwarded-For: 1.2.3.4", "X-Real-IP: 1.2.3.4"}, "192.0.2.7"},
		{"rightmost untrusted hop", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 1.2.3.4, 192.0.2.7, 10.8.1.1"}, "192.0.2.7"},
		{"all trusted", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 10.8.1.1"}, "10.8.1.1"},
		{"trusted proxy naming nobody", xff, "10.9.9.9:5000", nil, "10.9.9.9"},
		{"unparsable hop", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 192.0.2.7, bogus"}, "10.9.9.9"},
		{"other header not read", xff, "10.9.9.9:5000", []string{"X-Real-IP: 1.2.3.4"}, "10.9.9.9"},
		{"X-Real-IP", realIP, "10.9.9.9:5000", []string{"X-Forwarded-For: 1.2.3.4", "X-Real-IP: 192.0.2.7"}, "192.0.2.7"},
		{"Forwarded", fwd, "10.9.9.9:5000", []string{`Forwarded: for=1.2.3.4, for="[2001:db8::7]:443";proto=https`}, "2001:db8::7"},
		{"Forwarded v4 with port", fwd, "10.9.9.9:5000", []string{`Forwarded: for="192.0.2.7:80"`}, "192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			tt.s.BindHandler("/ip-"+strings.ReplaceAll(tt.name, " ", "-"), func(r *baton.Request) { got = r.GetClientIp() })
			req := httptest.NewRequest("GET", "/ip-"+strings.ReplaceAll(tt.name, " ", "-"), nil)
			req.RemoteAddr = tt.remote
			for _, h := range tt.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Add(k, v)
			}
			tt.s.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("GetClientIp() from %s %q = %q, want %q", tt.remote, tt.headers, got, tt.want)
			}
		})
	}
}

func TestTrustedProxiesRejected(t *testing.T) {
	for _, c := range []baton.ServerConfig{
		{TrustedProxies: []string{"10.0.0.0/33"}},
		{TrustedProxies: []string{"proxy.example"}},
		{ClientIPHeader: "X-Client-IP"},
		{Admin: baton.AdminConfig{Allow: []string{"everyone"}}},
	} {
		if err := newServer(t).SetConfig(c); err == nil {
			t.Errorf("SetConfig(%+v) = nil, want an error", c)
		}
	}
}

func TestAccessLogClient(t *testing.T) {
	var out syncBuffer
	s := newServer(t)
	c := s.Config()
	c.Logger = slog.New(slog.NewTextHandler(&out, nil))
	c.AccessLogDisabled = false
	c.TrustedProxies = []string{"10.9.9.9"}
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/", func(r *baton.Request) {})
	for _, remote := range []string{"192.0.2.8:1", "10.9.9.9:1"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "192.0.2.7")
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " ip=192.0.2.8 ") || !strings.Contains(lines[1], " ip=192.0.2.7 ") {
		t.Errorf("access lines lack the clients 192.0.2.8 and 192.0.2.7:\n%s", out.String())
	}
}
