package baton

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFileStoreLoad feeds arbitrary bytes to the session file decoder: a
// file is either a session or ErrSessionCorrupt, never a panic.
func FuzzFileStoreLoad(f *testing.F) {
	f.Add([]byte(`{"expires":99999999999999,"data":{"user":"ann","n":1}}`))
	f.Add([]byte(`{"expires":1,"data":{}}`))
	f.Add([]byte(`{"expires":99999999999999,"data":null}`))
	f.Add([]byte(`{"expires":`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := NewFileStore(privateDir(t))
		if err := os.WriteFile(filepath.Join(st.Dir(), "sid.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		data, err := st.Load(context.Background(), "sid")
		if err != nil && !errors.Is(err, ErrSessionCorrupt) {
			t.Fatalf("Load(%q) = %v, want data or ErrSessionCorrupt", b, err)
		}
		if err != nil && data != nil {
			t.Fatalf("Load(%q) = %v with error %v, want nil data", b, data, err)
		}
	})
}

// FuzzSessionID checks that only ids of the generated form are accepted
// from a cookie, and that generated ids always are.
func FuzzSessionID(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("../../../../etc/passwd")
	f.Add(newSessionID())
	f.Fuzz(func(t *testing.T, id string) {
		if validSessionID(id) && (len(id) != 22 || !validFileID(id)) {
			t.Fatalf("validSessionID(%q) = true for an id that is not 22 base64url characters", id)
		}
		if g := newSessionID(); !validSessionID(g) {
			t.Fatalf("generated id %q is not valid", g)
		}
	})
}
