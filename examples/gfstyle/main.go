// Command gfstyle is a program written the way GoFrame's ghttp programs
// are written: a controller bound with BindObject (with Init and Shut
// around each of its methods), a group with middleware and verbs, a hook,
// a custom 404 page and getters with defaults. Apart from its imports it
// is the same program under GoFrame (ghttp "github.com/gogf/gf/v2/net/ghttp",
// "github.com/gogf/gf/v2/frame/g").
//
//	go build -o /tmp/gfstyle ./examples/gfstyle && /tmp/gfstyle
//	curl 'localhost:8199/user/list?page=2'
//	curl localhost:8199/user/show-item?id=7
//	curl -d name=ann localhost:8199/api/greet
//	curl localhost:8199/nowhere            # the custom 404 page
//	kill -USR1 <master pid>                # reload into the binary on disk
package main

import (
	"os"
	"strconv"

	ghttp "github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// User is a controller: BindObject routes /user/list to List and
// /user/show-item to ShowItem.
type User struct{}

// Init runs before each method of User; Exit there ends the request.
func (u *User) Init(r *ghttp.Request) {
	if r.GetQuery("deny").Bool() {
		r.Response.WriteStatusExit(403, "denied by Init")
	}
	r.Response.Header().Set("X-Controller", "User")
}

// Shut runs after each method of User.
func (u *User) Shut(r *ghttp.Request) {
	r.Response.Header().Set("X-Shut", "done")
}

// List answers a page of users: page and size default to 1 and 10.
func (u *User) List(r *ghttp.Request) {
	page := r.GetQuery("page", 1).Int()
	size := r.GetQuery("size", 10).Int()
	r.Response.WriteJson(g.Map{"page": page, "size": size, "pid": os.Getpid()})
}

// ShowItem answers one user by its id.
func (u *User) ShowItem(r *ghttp.Request) {
	id := r.GetRequest("id", 0).Int()
	if id <= 0 {
		r.Response.WriteStatusExit(400, "id must be a positive number")
	}
	r.Response.WriteJson(g.Map{"id": id, "name": "user " + strconv.Itoa(id)})
}

// via is middleware of the /api group: it sets a context variable, which
// the handlers read.
func via(r *ghttp.Request) {
	r.SetCtxVar("via", "api")
	r.Middleware.Next()
}

func main() {
	s := g.Server()
	s.BindHookHandler("/*", ghttp.HookBeforeServe, func(r *ghttp.Request) {
		r.Response.Header().Set("X-Served-By", "gfstyle")
	})
	s.BindStatusHandler(404, func(r *ghttp.Request) {
		r.Response.WriteOver("<h1>nothing at " + r.URL.Path + "</h1>")
	})
	s.BindObject("/user", new(User))
	s.Group("/api", func(group *ghttp.RouterGroup) {
		group.Middleware(via)
		group.POST("/greet", func(r *ghttp.Request) {
			name := r.GetForm("name", "stranger").String()
			r.Response.WriteJson(g.Map{"hello": name, "via": r.GetCtxVar("via").String()})
		})
	})
	s.BindHandler("GET:/pid", func(r *ghttp.Request) {
		r.Response.Writeln(os.Getpid())
	})
	port := 8199
	if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
		port = p
	}
	s.SetPort(port)
	s.Run()
}
