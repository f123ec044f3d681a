package openapi

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go/openapi31"
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
func Build(info Info, ops []Operation) (*openapi31.Spec, error) {
	if info.Title == "" {
		info.Title = "API"
	}
	if info.Version == "" {
		info.Version = "0.0.0"
	}
	doc := &openapi31.Spec{
		Openapi: Version,
		Info:    openapi31.Info{Title: info.Title, Version: info.Version, Description: optional(info.Description)},
		Paths:   &openapi31.Paths{MapOfPathItemValues: map[string]openapi31.PathItem{}},
	}
	b := builder{schemas: schemas{comps: map[string]*jsonschema.Schema{}, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}}
	tags := map[string]bool{}
	ids := map[string]bool{}
	for _, op := range ops {
		method := strings.ToUpper(op.Method)
		if method == "" || !strings.HasPrefix(op.Path, "/") {
			return nil, fmt.Errorf("openapi: operation %q %q: want a method and a path starting with /", op.Method, op.Path)
		}
		item := doc.Paths.MapOfPathItemValues[op.Path]
		if prev, err := item.Operation(method); err != nil {
			return nil, fmt.Errorf("openapi: operation %s %s: %w", method, op.Path, err)
		} else if prev != nil {
			return nil, fmt.Errorf("openapi: two operations %s %s", method, op.Path)
		}
		o, err := b.operation(method, op)
		if err != nil {
			return nil, err
		}
		o.ID = optional(operationID(method, op.Path, ids))
		if err := item.SetOperation(method, o); err != nil {
			return nil, fmt.Errorf("openapi: operation %s %s: %w", method, op.Path, err)
		}
		doc.Paths.MapOfPathItemValues[op.Path] = item
		for _, t := range op.Tags {
			tags[t] = true
		}
	}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		doc.Tags = append(doc.Tags, openapi31.Tag{Name: t})
	}
	if len(b.schemas.comps) > 0 {
		doc.Components = &openapi31.Components{Schemas: map[string]map[string]any{}}
		for name, s := range b.schemas.comps {
			doc.Components.Schemas[name] = b.schemas.toMap(s)
		}
	}
	if b.schemas.err != nil {
		return nil, b.schemas.err
	}
	return doc, nil
}

// optional is s as the model's optional string: nil when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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

func (b *builder) operation(method string, op Operation) (*openapi31.Operation, error) {
	o := &openapi31.Operation{
		Tags: op.Tags, Summary: optional(op.Summary), Description: optional(op.Description),
		Responses: &openapi31.Responses{},
	}
	if op.Deprecated {
		o.Deprecated = &op.Deprecated
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
		body := ofType(jsonschema.Object)
		multipart := false
		for _, f := range fields(t, true) {
			in := location(f, method, names)
			if in == "body" {
				if body.Properties == nil {
					body.Properties = map[string]jsonschema.SchemaOrBool{}
				}
				body.Properties[f.name] = b.schemas.field(f).ToSchemaOrBool()
				if f.required {
					body.Required = append(body.Required, f.name)
				}
				multipart = multipart || isFile(f.typ)
				continue
			}
			p := openapi31.Parameter{Name: f.name, In: openapi31.ParameterIn(in), Description: optional(f.description),
				Schema: b.schemas.toMap(b.schemas.field(f))}
			if f.required || in == "path" {
				p.Required = &[]bool{true}[0]
			}
			if in == "path" {
				if p.Name = pathName(f.name, names); p.Name == "" {
					return nil, fmt.Errorf("openapi: %s %s: field %s of %v is in the path, which has no {%s}",
						method, op.Path, f.name, t, f.name)
				}
				declared[p.Name] = true
			}
			o.Parameters = append(o.Parameters, p.ToParameterOrRef())
		}
		if len(body.Properties) > 0 {
			mime := "application/json"
			if multipart {
				mime = "multipart/form-data"
			}
			rb := openapi31.RequestBody{Content: map[string]openapi31.MediaType{mime: {Schema: b.schemas.toMap(body)}}}
			if len(body.Required) > 0 {
				rb.Required = &[]bool{true}[0]
			}
			o.RequestBody = &openapi31.RequestBodyOrReference{RequestBody: &rb}
		}
	}
	// Every templated parameter must be declared, with or without a field.
	for _, n := range names {
		if !declared[n] {
			o.Parameters = append(o.Parameters, openapi31.Parameter{
				Name: n, In: openapi31.ParameterInPath, Required: &[]bool{true}[0],
				Schema: b.schemas.toMap(ofType(jsonschema.String)),
			}.ToParameterOrRef())
		}
	}
	var data *jsonschema.Schema
	if op.Response != nil {
		data = b.schemas.of(op.Response)
	}
	o.Responses.MapOfResponseOrReferenceValues = map[string]openapi31.ResponseOrReference{
		"200": b.response(http.StatusText(http.StatusOK), envelope(data)),
	}
	def := b.response("An error: a non-zero code and its message; the status says what happened", errorEnvelope())
	o.Responses.Default = &def
	return o, nil
}

// response is a JSON response with schema s.
func (b *builder) response(description string, s *jsonschema.Schema) openapi31.ResponseOrReference {
	return openapi31.ResponseOrReference{Response: &openapi31.Response{
		Description: description,
		Content:     map[string]openapi31.MediaType{"application/json": {Schema: b.schemas.toMap(s)}},
	}}
}

// envelope is the JSON envelope around data; data is null when there is
// no response type.
func envelope(data *jsonschema.Schema) *jsonschema.Schema {
	code := ofType(jsonschema.Integer)
	code.WithDescription("0 on success, else an error code")
	if data == nil {
		data = ofType(jsonschema.Null)
	}
	s := ofType(jsonschema.Object)
	s.Properties = map[string]jsonschema.SchemaOrBool{
		"code":    code.ToSchemaOrBool(),
		"message": jsonschema.String.ToSchemaOrBool(),
		"data":    data.ToSchemaOrBool(),
	}
	s.Required = []string{"code", "message", "data"}
	return s
}

// errorEnvelope is the envelope of an error: data is null, or for a
// binding or validation error (400) the list of the fields that failed.
func errorEnvelope() *jsonschema.Schema {
	field := ofType(jsonschema.Object)
	field.Properties = map[string]jsonschema.SchemaOrBool{
		"field":   ofType(jsonschema.String).WithDescription("the json name, dotted for a nested field").ToSchemaOrBool(),
		"rule":    jsonschema.String.ToSchemaOrBool(),
		"message": jsonschema.String.ToSchemaOrBool(),
	}
	field.Required = []string{"field", "rule", "message"}
	list := &jsonschema.Schema{Type: (&jsonschema.Type{}).WithSliceOfSimpleTypeValues(jsonschema.Array, jsonschema.Null)}
	list.WithItems(*(&jsonschema.Items{}).WithSchemaOrBool(field.ToSchemaOrBool()))
	return envelope(list)
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
