package openapi

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Version is the OpenAPI version of the documents Build writes.
const Version = "3.1.0"

// Operation is one bound typed handler.
type Operation struct {
	Method, Path         string // Path in OpenAPI form: "/users/{id}"
	Tags                 []string
	Summary, Description string
	Deprecated           bool
	Request, Response    reflect.Type // struct types (not pointers); Response nil when none
}

// Info is the document's title, version and description. If Title is
// empty "API" is used; if Version is empty "0.0.0".
type Info struct {
	Title, Version, Description string
}

var pathParam = regexp.MustCompile(`\{([^}/]+)\}`)

// Build returns the document of ops. It fails on an operation with no
// method or a path not starting with '/', and on two operations with one
// method and path.
func Build(info Info, ops []Operation) (*openapi3.T, error) {
	if info.Title == "" {
		info.Title = "API"
	}
	if info.Version == "" {
		info.Version = "0.0.0"
	}
	doc := &openapi3.T{
		OpenAPI: Version,
		Info:    &openapi3.Info{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:   openapi3.NewPaths(),
	}
	b := builder{schemas: schemas{doc: doc, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}}
	tags := map[string]bool{}
	ids := map[string]bool{}
	for _, op := range ops {
		method := strings.ToUpper(op.Method)
		if method == "" || !strings.HasPrefix(op.Path, "/") {
			return nil, fmt.Errorf("openapi: operation %q %q: want a method and a path starting with /", op.Method, op.Path)
		}
		item := doc.Paths.Value(op.Path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(op.Path, item)
		}
		if item.GetOperation(method) != nil {
			return nil, fmt.Errorf("openapi: two operations %s %s", method, op.Path)
		}
		o, err := b.operation(method, op)
		if err != nil {
			return nil, err
		}
		o.OperationID = operationID(method, op.Path, ids)
		item.SetOperation(method, o)
		for _, t := range op.Tags {
			tags[t] = true
		}
	}
	for _, t := range slices.Sorted(func(yield func(string) bool) {
		for t := range tags {
			if !yield(t) {
				return
			}
		}
	}) {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t})
	}
	return doc, nil
}

// operationID is method and path as one identifier, unique in the document.
func operationID(method, path string, taken map[string]bool) string {
	var sb strings.Builder
	sb.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		sb.WriteByte('_')
		sb.WriteString(part)
	}
	id := sb.String()
	for i := 2; taken[id]; i++ {
		id = fmt.Sprintf("%s_%d", sb.String(), i)
	}
	taken[id] = true
	return id
}

type builder struct {
	schemas schemas
}

func (b *builder) operation(method string, op Operation) (*openapi3.Operation, error) {
	o := &openapi3.Operation{
		Tags: op.Tags, Summary: op.Summary, Description: op.Description, Deprecated: op.Deprecated,
		Responses: openapi3.NewResponses(),
	}
	var names []string
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		names = append(names, m[1])
	}
	declared := map[string]bool{}
	if op.Request != nil {
		t := deref(op.Request)
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("openapi: %s %s: request type %v is not a struct", method, op.Path, op.Request)
		}
		body := openapi3.NewObjectSchema()
		multipart := false
		for _, f := range fields(t, true) {
			in := location(f, method, names)
			if in == "body" {
				s := b.schemas.field(f)
				body.Properties[f.name] = s
				if f.required {
					body.Required = append(body.Required, f.name)
				}
				multipart = multipart || isFile(f.typ)
				continue
			}
			p := &openapi3.Parameter{Name: f.name, In: in, Required: f.required || in == "path",
				Description: f.description, Schema: b.schemas.field(f)}
			if in == "path" {
				if p.Name = pathName(f.name, names); p.Name == "" {
					return nil, fmt.Errorf("openapi: %s %s: field %s of %v is in the path, which has no {%s}",
						method, op.Path, f.name, t, f.name)
				}
				declared[p.Name] = true
			}
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if len(body.Properties) > 0 {
			rb := openapi3.NewRequestBody().WithRequired(len(body.Required) > 0)
			if multipart {
				rb.WithFormDataSchema(body)
			} else {
				rb.WithJSONSchema(body)
			}
			o.RequestBody = &openapi3.RequestBodyRef{Value: rb}
		}
	}
	// Every templated parameter must be declared, with or without a field.
	for _, n := range names {
		if !declared[n] {
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
				Name: n, In: "path", Required: true,
				Schema: &openapi3.SchemaRef{Value: openapi3.NewStringSchema()},
			}})
		}
	}
	var data *openapi3.SchemaRef
	if op.Response != nil {
		data = b.schemas.of(op.Response)
	}
	ok := openapi3.NewResponse().WithDescription(http.StatusText(http.StatusOK)).
		WithJSONSchemaRef(envelope(data))
	o.Responses.Set("200", &openapi3.ResponseRef{Value: ok})
	o.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("An error: a non-zero code and its message; the status says what happened").
		WithJSONSchemaRef(errorEnvelope())})
	return o, nil
}

// envelope is the JSON envelope around data; data is null when there is
// no response type.
func envelope(data *openapi3.SchemaRef) *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema()
	code := openapi3.NewIntegerSchema()
	code.Description = "0 on success, else an error code"
	s.Properties["code"] = &openapi3.SchemaRef{Value: code}
	s.Properties["message"] = &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}
	if data == nil {
		data = &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"null"}}}
	}
	s.Properties["data"] = data
	s.Required = []string{"code", "message", "data"}
	return &openapi3.SchemaRef{Value: s}
}

// errorEnvelope is the envelope of an error: data is null, or for a
// binding or validation error (400) the list of the fields that failed.
func errorEnvelope() *openapi3.SchemaRef {
	field := openapi3.NewObjectSchema()
	for _, n := range []string{"field", "rule", "message"} {
		field.Properties[n] = &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}
	}
	field.Required = []string{"field", "rule", "message"}
	field.Properties["field"].Value.Description = "the json name, dotted for a nested field"
	list := openapi3.NewArraySchema()
	list.Items = &openapi3.SchemaRef{Value: field}
	list.Type = &openapi3.Types{"array", "null"}
	return envelope(&openapi3.SchemaRef{Value: list})
}

// location is where a request field comes from, by the binding's rules.
func location(f reqField, method string, pathNames []string) string {
	switch f.in {
	case "path", "query", "header", "cookie":
		return f.in
	}
	if pathName(f.name, pathNames) != "" {
		return "path"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		return "query"
	}
	return "body"
}

// pathName is the path parameter the field name matches, case-insensitively.
func pathName(name string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}
