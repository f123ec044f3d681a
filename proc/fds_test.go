package proc

import (
	"reflect"
	"testing"
)

func TestParseFDs(t *testing.T) {
	tests := []struct {
		in      string
		want    []inheritedFD
		wantErr bool
	}{
		{"", nil, false},
		{"3=default%2Fhttp%2F0%2F%3A8199", []inheritedFD{{3, "default/http/0/:8199"}}, false},
		{"5=a&5=b&6=", []inheritedFD{{5, "a"}, {5, "b"}, {6, ""}}, false},
		{"2=a", nil, true},
		{"x=a", nil, true},
		{"03=a", nil, true},
		{"3", nil, true},
		{"3=%zz", nil, true},
	}
	for _, tt := range tests {
		got, err := parseFDs(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFDs(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseFDs(f *testing.F) {
	f.Add("3=default%2Fhttp%2F0%2F%3A8199&4=")
	f.Add("5=a&5=b")
	f.Add("3=%zz")
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := parseFDs(s)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.FD < 3 {
				t.Fatalf("parseFDs(%q) returned descriptor %d", s, e.FD)
			}
		}
		again, err := parseFDs(formatFDs(entries))
		if err != nil || !reflect.DeepEqual(again, entries) {
			t.Fatalf("round trip of %v = %v, %v", entries, again, err)
		}
	})
}

func TestParseListenEnv(t *testing.T) {
	tests := []struct {
		pid, fds, names string
		want            []string
	}{
		{"100", "2", "http:https", []string{"http", "https"}},
		{"100", "2", "", []string{"", ""}},
		{"100", "1", "a:b", []string{"a"}},
		{"100", "3", "a", []string{"a", "", ""}},
		{"101", "2", "", nil},
		{"", "2", "", nil},
		{"100", "0", "", nil},
		{"100", "-1", "", nil},
		{"100", "99999999", "", nil},
		{"100", "x", "", nil},
	}
	for _, tt := range tests {
		got := parseListenEnv(tt.pid, tt.fds, tt.names, 100)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseListenEnv(%q, %q, %q) = %q, want %q", tt.pid, tt.fds, tt.names, got, tt.want)
		}
	}
}

func FuzzParseListenEnv(f *testing.F) {
	f.Add("100", "2", "a:b")
	f.Fuzz(func(t *testing.T, pid, fds, names string) {
		if got := parseListenEnv(pid, fds, names, 100); len(got) > maxActivationFDs {
			t.Fatalf("parseListenEnv(%q, %q, %q) returned %d names", pid, fds, names, len(got))
		}
	})
}
