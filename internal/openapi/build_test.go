package openapi

import (
	"context"
	"encoding/json"
	"mime/multipart"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

type Page struct {
	Page int `json:"page" d:"1" v:"min:1" dc:"page number"`
	Size int `json:"size" d:"20" v:"between:1,100"`
}

type ListUsersReq struct {
	Page
	Role  string   `json:"role" v:"in:admin,user"`
	Sort  []string `json:"sort" v:"in:name,age"`
	Token string   `in:"header" json:"X-Token" v:"required"`
}

type User struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name" dc:"display name"`
	Email   string    `json:"email,omitempty"`
	Created time.Time `json:"created"`
	Boss    *User     `json:"boss,omitempty"`
	Secret  string    `json:"-"`
}

type ListUsersRes struct {
	Users []User `json:"users"`
	Total int    `json:"total"`
}

type CreateUserReq struct {
	Name  string            `json:"name" v:"required|length:6,16#name is required|6-16 characters" description:"user name"`
	Email string            `json:"email" v:"required|email"`
	Site  string            `p:"site" v:"url"`
	Born  string            `json:"born" v:"date"`
	Code  string            `json:"code" v:"regex:^[a-z]{2}[0-9]+$"`
	Age   uint8             `json:"age" v:"min:18|max:130"`
	Tags  []string          `json:"tags" v:"max-length:3"`
	Attrs map[string]string `json:"attrs"`
	Home  struct {
		City string `json:"city" v:"required"`
	} `json:"home"`
	Ignored func() `json:"ignored"`
}

type UpdateUserReq struct {
	ID   int64  `json:"id" v:"min:1"`
	Name string `json:"name" v:"length:6,16"`
}

type AvatarReq struct {
	ID   int64                 `json:"id"`
	File *multipart.FileHeader `json:"file" v:"required"`
}

func sampleOps() []Operation {
	return []Operation{
		{Method: "GET", Path: "/users", Tags: []string{"users"}, Summary: "List users",
			Request: reflect.TypeFor[ListUsersReq](), Response: reflect.TypeFor[ListUsersRes]()},
		{Method: "POST", Path: "/users", Tags: []string{"users"}, Summary: "Create a user",
			Request: reflect.TypeFor[CreateUserReq](), Response: reflect.TypeFor[User]()},
		{Method: "PUT", Path: "/users/{id}", Tags: []string{"users"}, Deprecated: true,
			Request: reflect.TypeFor[UpdateUserReq](), Response: reflect.TypeFor[User]()},
		{Method: "DELETE", Path: "/users/{id}", Tags: []string{"admin", "users"},
			Request: reflect.TypeFor[UpdateUserReq]()},
		{Method: "POST", Path: "/users/{id}/avatar", Request: reflect.TypeFor[AvatarReq]()},
		{Method: "GET", Path: "/files/{dir}/{name}", Description: "no fields for the path"},
	}
}

// load writes the document as JSON and reads it back with kin-openapi's
// loader, then validates it: what a client of /api.json would see.
func load(t *testing.T, ops []Operation) (*openapi3.T, []byte) {
	t.Helper()
	doc, err := Build(Info{Title: "test"}, ops)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, b)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v\n%s", err, b)
	}
	return loaded, b
}

func TestBuildValidates(t *testing.T) {
	doc, b := load(t, sampleOps())
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["openapi"] != "3.1.0" {
		t.Errorf("written openapi = %v (%v), want 3.1.0", raw["openapi"], err)
	}
	if got := doc.Paths.Len(); got != 4 {
		t.Errorf("%d paths, want 4: %v", got, doc.Paths.InMatchingOrder())
	}
	var tags []string
	for _, tg := range doc.Tags {
		tags = append(tags, tg.Name)
	}
	if !slices.Equal(tags, []string{"admin", "users"}) {
		t.Errorf("tags = %q, want admin, users", tags)
	}
}

// TestValidatorCatches shows that the validator in load is not a rubber
// stamp: a path parameter left undeclared fails it.
func TestValidatorCatches(t *testing.T) {
	doc, err := Build(Info{}, sampleOps())
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.MapOfPathItemValues["/files/{dir}/{name}"].Get
	op.Parameters = op.Parameters[:1]
	b, _ := json.Marshal(doc)
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err == nil {
		err = loaded.Validate(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("Validate of a document missing {name} = %v, want an error naming it", err)
	}
}

func param(t *testing.T, o *openapi3.Operation, name string) *openapi3.Parameter {
	t.Helper()
	for _, p := range o.Parameters {
		if p.Value.Name == name {
			return p.Value
		}
	}
	t.Fatalf("no parameter %q in %s", name, o.OperationID)
	return nil
}

func TestParameters(t *testing.T) {
	doc, _ := load(t, sampleOps())
	list := doc.Paths.Value("/users").Get
	tests := []struct {
		op       *openapi3.Operation
		name, in string
		required bool
	}{
		{list, "page", "query", false},
		{list, "size", "query", false},
		{list, "role", "query", false},
		{list, "X-Token", "header", true},
		{doc.Paths.Value("/users/{id}").Put, "id", "path", true},
		{doc.Paths.Value("/users/{id}").Delete, "id", "path", true},
		{doc.Paths.Value("/users/{id}").Delete, "name", "query", false},
		{doc.Paths.Value("/files/{dir}/{name}").Get, "dir", "path", true},
		{doc.Paths.Value("/files/{dir}/{name}").Get, "name", "path", true},
	}
	for _, tt := range tests {
		t.Run(tt.op.OperationID+"/"+tt.name, func(t *testing.T) {
			p := param(t, tt.op, tt.name)
			if p.In != tt.in || p.Required != tt.required {
				t.Errorf("%s: in %q required %v, want %q %v", tt.name, p.In, p.Required, tt.in, tt.required)
			}
		})
	}
	page := param(t, list, "page")
	if s := page.Schema.Value; s.Default != float64(1) || *s.Min != 1 || page.Description != "page number" {
		t.Errorf("page: default %v min %v description %q, want 1, 1, page number", s.Default, *s.Min, page.Description)
	}
	if s := param(t, list, "size").Schema.Value; *s.Min != 1 || *s.Max != 100 {
		t.Errorf("size: min %v max %v, want 1, 100", *s.Min, *s.Max)
	}
	if s := param(t, list, "role").Schema.Value; !reflect.DeepEqual(s.Enum, []any{"admin", "user"}) {
		t.Errorf("role enum = %v, want admin, user", s.Enum)
	}
	if s := param(t, list, "sort").Schema.Value; !reflect.DeepEqual(s.Items.Value.Enum, []any{"name", "age"}) {
		t.Errorf("sort items enum = %v, want name, age", s.Items.Value.Enum)
	}
	if put := doc.Paths.Value("/users/{id}").Put; !put.Deprecated || put.RequestBody == nil {
		t.Errorf("PUT /users/{id}: deprecated %v, body %v; want deprecated with a body", put.Deprecated, put.RequestBody)
	}
}

func TestRequestBody(t *testing.T) {
	doc, _ := load(t, sampleOps())
	rb := doc.Paths.Value("/users").Post.RequestBody.Value
	if !rb.Required {
		t.Error("body not required, want required: it has required fields")
	}
	s := rb.Content.Get("application/json").Schema.Value
	if !slices.Equal(s.Required, []string{"name", "email"}) {
		t.Errorf("required = %q, want name, email", s.Required)
	}
	prop := func(n string) *openapi3.Schema {
		t.Helper()
		r := s.Properties[n]
		if r == nil {
			t.Fatalf("no property %q in %v", n, slices.Collect(func(y func(string) bool) {
				for k := range s.Properties {
					y(k)
				}
			}))
		}
		return r.Value
	}
	if n := prop("name"); n.MinLength != 6 || *n.MaxLength != 16 || n.Description != "user name" {
		t.Errorf("name: %d..%v %q, want 6..16 user name", n.MinLength, *n.MaxLength, n.Description)
	}
	if f := prop("email").Format; f != "email" {
		t.Errorf("email format %q, want email", f)
	}
	if f := prop("site").Format; f != "uri" {
		t.Errorf("site (p tag) format %q, want uri", f)
	}
	if f := prop("born").Format; f != "date" {
		t.Errorf("born format %q, want date", f)
	}
	if pt := prop("code").Pattern; pt != "^[a-z]{2}[0-9]+$" {
		t.Errorf("code pattern %q", pt)
	}
	if a := prop("age"); *a.Min != 18 || *a.Max != 130 || !a.Type.Is("integer") {
		t.Errorf("age: %v %v..%v, want integer 18..130", a.Type, *a.Min, *a.Max)
	}
	if tg := prop("tags"); tg.MaxItems == nil || *tg.MaxItems != 3 {
		t.Errorf("tags maxItems %v, want 3", tg.MaxItems)
	}
	if a := prop("attrs"); !a.Type.Is("object") || a.AdditionalProperties.Schema == nil {
		t.Errorf("attrs = %+v, want an object of strings", a)
	}
	if h := prop("home"); !slices.Equal(h.Required, []string{"city"}) {
		t.Errorf("home required %q, want city", h.Required)
	}
	if _, ok := s.Properties["ignored"]; ok {
		t.Error("a func field is in the schema")
	}
	avatar := doc.Paths.Value("/users/{id}/avatar").Post.RequestBody.Value
	form := avatar.Content.Get("multipart/form-data")
	if form == nil || form.Schema.Value.Properties["file"].Value.Format != "binary" {
		t.Errorf("avatar body = %v, want multipart with a binary file", avatar.Content)
	}
}

func TestResponses(t *testing.T) {
	doc, _ := load(t, sampleOps())
	ok := doc.Paths.Value("/users").Get.Responses.Status(200).Value
	env := ok.Content.Get("application/json").Schema.Value
	if !slices.Equal(env.Required, []string{"code", "message", "data"}) {
		t.Errorf("envelope required %q, want code, message, data", env.Required)
	}
	data := env.Properties["data"]
	if data.Ref != "#/components/schemas/ListUsersRes" {
		t.Errorf("data ref %q, want ListUsersRes", data.Ref)
	}
	user := doc.Components.Schemas["User"].Value
	if user == nil {
		t.Fatalf("no User component: %v", doc.Components.Schemas)
	}
	if b := user.Properties["boss"]; b.Ref != "#/components/schemas/User" {
		t.Errorf("boss ref %q, want itself", b.Ref)
	}
	if c := user.Properties["created"].Value; c.Format != "date-time" {
		t.Errorf("created format %q, want date-time", c.Format)
	}
	if _, ok := user.Properties["Secret"]; ok {
		t.Error(`a json:"-" field is in the schema`)
	}
	del := doc.Paths.Value("/users/{id}").Delete.Responses.Status(200).Value
	if d := del.Content.Get("application/json").Schema.Value.Properties["data"]; d == nil || !d.Value.Type.Is("null") {
		t.Errorf("data of an operation without a response = %v, want null", d)
	}
	def := doc.Paths.Value("/users").Get.Responses.Default()
	if def == nil {
		t.Fatal("no default (error) response")
	}
	fieldList := def.Value.Content.Get("application/json").Schema.Value.Properties["data"].Value
	if !fieldList.Type.Includes("array") || !fieldList.Type.Includes("null") ||
		!slices.Equal(fieldList.Items.Value.Required, []string{"field", "rule", "message"}) {
		t.Errorf("error data = %v %v, want null or a list of fields", fieldList.Type, fieldList.Items)
	}
}

type otherUser struct{ N int }

func TestBuildErrors(t *testing.T) {
	type badPath struct {
		Slug string `in:"path"`
	}
	tests := []struct {
		name string
		ops  []Operation
		want string
	}{
		{"no method", []Operation{{Path: "/x"}}, "want a method"},
		{"relative", []Operation{{Method: "GET", Path: "x"}}, "starting with /"},
		{"twice", []Operation{{Method: "GET", Path: "/x"}, {Method: "get", Path: "/x"}}, "two operations GET /x"},
		{"not a struct", []Operation{{Method: "GET", Path: "/x", Request: reflect.TypeFor[int]()}}, "not a struct"},
		{"path field without parameter", []Operation{{Method: "GET", Path: "/x", Request: reflect.TypeFor[badPath]()}},
			"field Slug of openapi.badPath is in the path, which has no {Slug}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(Info{}, tt.ops)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestComponentNamesUnique(t *testing.T) {
	type User struct{ Other int }
	doc, _ := load(t, []Operation{
		{Method: "GET", Path: "/a", Response: reflect.TypeFor[User]()},
		{Method: "GET", Path: "/b", Response: reflect.TypeFor[otherUser]()},
		{Method: "GET", Path: "/c", Response: reflect.TypeFor[ListUsersRes]()}, // package-level User
	})
	names := slices.Sorted(func(y func(string) bool) {
		for k := range doc.Components.Schemas {
			y(k)
		}
	})
	if !slices.Equal(names, []string{"ListUsersRes", "User", "openapi.User", "otherUser"}) {
		t.Errorf("components = %q", names)
	}
}
