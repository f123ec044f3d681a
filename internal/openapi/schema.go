package openapi

import (
	"encoding"
	"encoding/json"
	"mime/multipart"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

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
	doc   *openapi3.T
	names map[reflect.Type]string // named struct -> component name
	taken map[string]reflect.Type
}

// field is the schema of a field with its v rules, description and default.
func (s *schemas) field(f reqField) *openapi3.SchemaRef {
	ref := s.of(f.typ)
	if ref.Ref != "" {
		if f.description == "" {
			return ref
		}
		// A $ref takes no siblings in kin-openapi's model: wrap it.
		return &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{ref}, Description: f.description}}
	}
	v := *ref.Value // a copy: a field's rules are its own
	applyRules(&v, f)
	return &openapi3.SchemaRef{Value: &v}
}

// of is the schema of type t.
func (s *schemas) of(t reflect.Type) *openapi3.SchemaRef {
	t = deref(t)
	switch {
	case isFile(t) && t.Kind() != reflect.Slice:
		return value(openapi3.NewStringSchema().WithFormat("binary"))
	case t == timeType:
		return value(openapi3.NewDateTimeSchema())
	case t == rawMessage:
		return value(&openapi3.Schema{})
	case implements(t, jsonMarshaler):
		return value(&openapi3.Schema{}) // its own JSON: any value
	case implements(t, textMarshaler):
		return value(openapi3.NewStringSchema())
	}
	switch t.Kind() {
	case reflect.Bool:
		return value(openapi3.NewBoolSchema())
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return value(openapi3.NewInt32Schema())
	case reflect.Int, reflect.Int64:
		return value(openapi3.NewInt64Schema())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return value(openapi3.NewIntegerSchema().WithMin(0))
	case reflect.Float32:
		return value(openapi3.NewFloat64Schema().WithFormat("float"))
	case reflect.Float64:
		return value(openapi3.NewFloat64Schema().WithFormat("double"))
	case reflect.String:
		return value(openapi3.NewStringSchema())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return value(openapi3.NewBytesSchema()) // encoding/json writes base64
		}
		a := openapi3.NewArraySchema()
		a.Items = s.of(t.Elem())
		if t.Kind() == reflect.Array {
			n := uint64(t.Len())
			a.MinItems, a.MaxItems = n, &n
		}
		return value(a)
	case reflect.Map:
		o := openapi3.NewObjectSchema()
		o.AdditionalProperties = openapi3.AdditionalProperties{Schema: s.of(t.Elem())}
		return value(o)
	case reflect.Struct:
		if t.Name() == "" {
			return value(s.object(t))
		}
		return s.component(t)
	}
	return value(&openapi3.Schema{}) // interface: any value
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func value(v *openapi3.Schema) *openapi3.SchemaRef { return &openapi3.SchemaRef{Value: v} }

// component is a reference to named struct t, defined once in
// components/schemas.
func (s *schemas) component(t reflect.Type) *openapi3.SchemaRef {
	name, ok := s.names[t]
	if !ok {
		name = s.name(t)
		s.names[t] = name
		s.taken[name] = t
		if s.doc.Components == nil {
			c := openapi3.NewComponents()
			s.doc.Components = &c
		}
		if s.doc.Components.Schemas == nil {
			s.doc.Components.Schemas = openapi3.Schemas{}
		}
		// Set before filling, so that a recursive type references itself.
		ref := value(&openapi3.Schema{})
		s.doc.Components.Schemas[name] = ref
		ref.Value = s.object(t)
	}
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + name, Value: s.doc.Components.Schemas[name].Value}
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
func (s *schemas) object(t reflect.Type) *openapi3.Schema {
	o := openapi3.NewObjectSchema()
	for _, f := range fields(t, false) {
		o.Properties[f.name] = s.field(f)
		if f.required {
			o.Required = append(o.Required, f.name)
		}
	}
	return o
}
