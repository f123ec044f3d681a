package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/swaggest/jsonschema-go"

	"github.com/baton-go/baton/internal/vrule"
)

// batonPkg is the package of the Meta and UploadFile types, named here
// rather than imported: package baton imports this one.
const batonPkg = "github.com/baton-go/baton"

// reqField is a field of a request or response struct, after flattening
// embedded structs.
type reqField struct {
	name, in, description, def string
	typ                        reflect.Type
	rules                      []vrule.Rule
	required                   bool
}

// fields lists the fields of struct type t as the binding (top, a request
// type) or encoding/json sees them: exported, not json:"-", not the Meta
// field, embedded structs flattened. Only the binding reads p tags. A v
// tag that does not parse is left out here: vrule.Compile reports it when
// the handler is bound.
func fields(t reflect.Type, top bool) []reqField {
	var out []reqField
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			if isMeta(sf.Type) || (!sf.IsExported() && !sf.Anonymous) {
				continue
			}
			name, skip := vrule.FieldName(sf)
			if skip {
				continue
			}
			jsonName, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if !top && jsonName == "" {
				name = sf.Name
			}
			ft := deref(sf.Type)
			if sf.Anonymous && ft.Kind() == reflect.Struct && jsonName == "" {
				if depth < 8 {
					walk(ft, depth+1)
				}
				continue
			}
			if !sf.IsExported() || !representable(ft) {
				continue
			}
			f := reqField{name: name, in: sf.Tag.Get("in"), typ: sf.Type, def: sf.Tag.Get("d"),
				description: sf.Tag.Get("dc")}
			if f.description == "" {
				f.description = sf.Tag.Get("description")
			}
			if rules, err := vrule.Parse(sf.Tag.Get("v")); err == nil {
				f.rules = rules
				for _, r := range rules {
					f.required = f.required || r.Name == "required"
				}
			}
			out = append(out, f)
		}
	}
	walk(t, 0)
	return out
}

func isMeta(t reflect.Type) bool {
	return t.PkgPath() == batonPkg && t.Name() == "Meta"
}

var (
	fileHeader    = reflect.TypeFor[multipart.FileHeader]()
	timeType      = reflect.TypeFor[time.Time]()
	rawMessage    = reflect.TypeFor[json.RawMessage]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
)

func isFile(t reflect.Type) bool {
	t = deref(t)
	if t.Kind() == reflect.Slice {
		t = deref(t.Elem())
	}
	return t == fileHeader || (t.PkgPath() == batonPkg && t.Name() == "UploadFile")
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// representable reports whether JSON can carry a value of type t.
func representable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return false
	}
	return true
}

// schemas turns Go types into schemas, each named struct once, as a
// component that the others reference.
type schemas struct {
	comps map[string]*jsonschema.Schema // component name -> schema
	names map[reflect.Type]string       // named struct -> component name
	taken map[string]reflect.Type
	err   error // the first schema that could not be written
}

// toMap is schema s as the document model holds it: a JSON object.
func (s *schemas) toMap(js *jsonschema.Schema) map[string]any {
	m, err := js.ToSchemaOrBool().ToSimpleMap()
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("openapi: a schema: %w", err)
	}
	return m
}

// ofType is a schema of one JSON type.
func ofType(t jsonschema.SimpleType) *jsonschema.Schema {
	return (&jsonschema.Schema{}).WithType(t.Type())
}

// withFormat is s with format f.
func withFormat(s *jsonschema.Schema, f string) *jsonschema.Schema { return s.WithFormat(f) }

// field is the schema of a field with its v rules, description and default.
func (s *schemas) field(f reqField) *jsonschema.Schema {
	ref := s.of(f.typ)
	if ref.Ref != nil {
		if f.description == "" {
			return ref
		}
		// Keep the reference alone, as OpenAPI 3.0 tools expect: wrap it.
		return (&jsonschema.Schema{AllOf: []jsonschema.SchemaOrBool{ref.ToSchemaOrBool()}}).WithDescription(f.description)
	}
	v := *ref // a copy: a field's rules are its own
	applyRules(&v, f)
	return &v
}

// of is the schema of type t.
func (s *schemas) of(t reflect.Type) *jsonschema.Schema {
	t = deref(t)
	switch {
	case isFile(t) && t.Kind() != reflect.Slice:
		return withFormat(ofType(jsonschema.String), "binary")
	case t == timeType:
		return withFormat(ofType(jsonschema.String), "date-time")
	case t == rawMessage:
		return &jsonschema.Schema{}
	case implements(t, jsonMarshaler):
		return &jsonschema.Schema{} // its own JSON: any value
	case implements(t, textMarshaler):
		return ofType(jsonschema.String)
	}
	switch t.Kind() {
	case reflect.Bool:
		return ofType(jsonschema.Boolean)
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return withFormat(ofType(jsonschema.Integer), "int32")
	case reflect.Int, reflect.Int64:
		return withFormat(ofType(jsonschema.Integer), "int64")
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return ofType(jsonschema.Integer).WithMinimum(0)
	case reflect.Float32:
		return withFormat(ofType(jsonschema.Number), "float")
	case reflect.Float64:
		return withFormat(ofType(jsonschema.Number), "double")
	case reflect.String:
		return ofType(jsonschema.String)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return withFormat(ofType(jsonschema.String), "byte") // encoding/json writes base64
		}
		a := ofType(jsonschema.Array)
		a.WithItems(*(&jsonschema.Items{}).WithSchemaOrBool(s.of(t.Elem()).ToSchemaOrBool()))
		if t.Kind() == reflect.Array {
			a.WithMinItems(int64(t.Len())).WithMaxItems(int64(t.Len()))
		}
		return a
	case reflect.Map:
		return ofType(jsonschema.Object).WithAdditionalProperties(s.of(t.Elem()).ToSchemaOrBool())
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		return s.component(t)
	}
	return &jsonschema.Schema{} // interface: any value
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// component is a reference to named struct t, defined once in
// components/schemas.
func (s *schemas) component(t reflect.Type) *jsonschema.Schema {
	name, ok := s.names[t]
	if !ok {
		name = s.name(t)
		s.names[t] = name
		s.taken[name] = t
		// Set before filling, so that a recursive type references itself.
		c := &jsonschema.Schema{}
		s.comps[name] = c
		*c = *s.object(t)
	}
	return (&jsonschema.Schema{}).WithRef("#/components/schemas/" + name)
}

// name is a component name for t, unique in the document: the type's
// name, with its package's when two packages share it; characters a
// component name cannot hold (generics' brackets) become '_'.
func (s *schemas) name(t reflect.Type) string {
	clean := func(n string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, n)
	}
	name := clean(t.Name())
	if _, dup := s.taken[name]; !dup {
		return name
	}
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
	base := clean(pkg + "." + t.Name())
	name = base
	for i := 2; s.taken[name] != nil; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	return name
}

// object is the schema of struct t, as JSON writes it.
func (s *schemas) object(t reflect.Type) *jsonschema.Schema {
	o := ofType(jsonschema.Object)
	for _, f := range fields(t, false) {
		if o.Properties == nil {
			o.Properties = map[string]jsonschema.SchemaOrBool{}
		}
		o.Properties[f.name] = s.field(f).ToSchemaOrBool()
		if f.required {
			o.Required = append(o.Required, f.name)
		}
	}
	return o
}
