package openapi

import (
	"reflect"
	"strconv"

	"github.com/swaggest/jsonschema-go"
)

// applyRules writes a field's v rules, description and default onto its
// schema s, a copy the field owns. On an array, the value rules (bounds,
// enums, patterns, formats) go onto its items, as vrule checks them.
func applyRules(s *jsonschema.Schema, f reqField) {
	if f.description != "" {
		s.WithDescription(f.description)
	}
	t := deref(f.typ)
	if f.def != "" {
		s.WithDefault(typed(f.def, t))
	}
	item := s
	elem := t
	if s.HasType(jsonschema.Array) && s.Items != nil && s.Items.SchemaOrBool != nil &&
		s.Items.SchemaOrBool.TypeObject != nil && s.Items.SchemaOrBool.TypeObject.Ref == nil {
		v := *s.Items.SchemaOrBool.TypeObject
		item = &v
		s.Items = (&jsonschema.Items{}).WithSchemaOrBool(item.ToSchemaOrBool())
		elem = deref(t.Elem())
	}
	numeric := item.HasType(jsonschema.Integer) || item.HasType(jsonschema.Number)
	for _, r := range f.rules {
		lo, hasLo := r.Min()
		hi, hasHi := r.Max()
		switch {
		case r.IsLength():
			switch {
			case s.HasType(jsonschema.String):
				if hasLo {
					s.WithMinLength(int64(lo))
				}
				if hasHi {
					s.WithMaxLength(int64(hi))
				}
			case s.HasType(jsonschema.Array):
				if hasLo {
					s.WithMinItems(int64(lo))
				}
				if hasHi {
					s.WithMaxItems(int64(hi))
				}
			case s.HasType(jsonschema.Object):
				if hasLo {
					s.WithMinProperties(int64(lo))
				}
				if hasHi {
					s.WithMaxProperties(int64(hi))
				}
			}
		case r.Name == "min" || r.Name == "max" || r.Name == "between":
			if !numeric {
				continue // a number in a string: no schema keyword says so
			}
			if hasLo {
				item.WithMinimum(lo)
			}
			if hasHi {
				item.WithMaximum(hi)
			}
		case r.Name == "in":
			item.Enum = nil
			for _, a := range r.Args {
				item.Enum = append(item.Enum, typed(a, elem))
			}
		case r.Name == "regex":
			if item.HasType(jsonschema.String) {
				item.WithPattern(r.Args[0])
			}
		case r.Name == "email" || r.Name == "url" || r.Name == "date":
			if item.HasType(jsonschema.String) {
				item.WithFormat(map[string]string{"email": "email", "url": "uri", "date": "date"}[r.Name])
			}
		}
	}
}

// typed is a tag's text as a value of kind t, for enums and defaults;
// the text itself when it does not parse.
func typed(text string, t reflect.Type) any {
	switch t.Kind() {
	case reflect.Bool:
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i
		}
	case reflect.Float32, reflect.Float64:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}
