package baton_test

import (
	"net/http"
	"testing"
)

// raceEnabled is set by race_test.go: the race detector allocates on its
// own and makes sync.Pool drop items, so allocation counts mean nothing
// under it.
var raceEnabled bool

// TestHotPathAllocs checks that serving a request through baton allocates
// no more than serving it through raw httprouter, the router baton is
// built on: the pooled Request and Response must cost nothing per request.
func TestHotPathAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations; skipped with -short")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	tests := []struct {
		name   string
		routes []benchRoute
		paths  []string
		extra  []benchRoute // registered on baton only
	}{
		{name: "static", routes: staticRoutes},
		{name: "param", routes: paramRoutes, paths: []string{"/user/gordon"}},
		{name: "github", routes: githubAPI},
		// GET /users/new beside GET /users/:user: served by baton's own
		// tree, which must not allocate more than httprouter either.
		{name: "own tree", routes: githubAPI, extra: []benchRoute{{http.MethodGet, "/users/new"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := newRequests(t, tt.routes, tt.paths...)
			got := allocsPerRun(t, "baton", newBaton(append(tt.routes[:len(tt.routes):len(tt.routes)], tt.extra...)), reqs)
			want := allocsPerRun(t, "httprouter", newHTTPRouter(tt.routes), reqs)
			t.Logf("allocs to serve %d request(s): baton %v, httprouter %v", len(reqs), got, want)
			if got > want {
				t.Errorf("baton: %v allocs to serve %d %s request(s), raw httprouter %v: want no more",
					got, len(reqs), tt.name, want)
			}
		})
	}
}

// allocsPerRun returns the allocations h makes to serve every request of
// reqs once. The requests are copied into one reused value, so that only
// the handler's own allocations are counted.
func allocsPerRun(t *testing.T, name string, h http.Handler, reqs []http.Request) float64 {
	t.Helper()
	checkServes(t, name, h, reqs)
	w := newDiscardWriter()
	req := new(http.Request)
	return testing.AllocsPerRun(200, func() {
		for i := range reqs {
			*req = reqs[i]
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}
