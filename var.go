package baton

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Var is a value read from a request (a parameter, a form or JSON field,
// a context value) with typed conversions, after GoFrame's gvar.Var. The
// conversions are lenient, as GoFrame's gconv is: a value that does not
// convert gives the zero value of the type asked for. Scan is the strict
// one and returns an error.
//
// A nil *Var, like a Var holding nil, converts to zero values: IsNil
// reports true, String returns "", Int 0. A Var is not safe for
// concurrent modification, and it holds no reference to the Request: it
// may be kept after the handler returns.
type Var struct {
	v any
}

// NewVar returns a Var holding v.
func NewVar(v any) *Var { return &Var{v: v} }

// Val returns the value the Var holds, nil if none (GoFrame's name).
func (v *Var) Val() any {
	if v == nil {
		return nil
	}
	return v.v
}

// Interface returns the value the Var holds, as Val does.
func (v *Var) Interface() any { return v.Val() }

// IsNil reports whether the Var holds nothing: the key was missing and no
// default was given.
func (v *Var) IsNil() bool {
	if v == nil || v.v == nil {
		return true
	}
	rv := reflect.ValueOf(v.v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// IsEmpty reports whether the Var holds nil or an empty value: "", 0,
// false, or an empty slice or map.
func (v *Var) IsEmpty() bool {
	if v.IsNil() {
		return true
	}
	switch x := v.v.(type) {
	case string:
		return x == ""
	case json.Number:
		return x == "" || x == "0"
	case bool:
		return !x
	}
	rv := reflect.ValueOf(v.v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer:
		return (&Var{v: rv.Elem().Interface()}).IsEmpty()
	}
	return rv.IsZero()
}

// String returns the value as a string: a string as it is, a number in
// its shortest decimal form, a bool as "true" or "false", a list or map
// as JSON, and "" for nil.
func (v *Var) String() string { return varString(v.Val()) }

// Int returns the value as an int, 0 if it is not a number. See Int64.
func (v *Var) Int() int { return int(v.Int64()) }

// Int64 returns the value as an int64: a decimal, a 0x hexadecimal (with
// an optional sign), or a decimal fraction truncated toward zero ("1.9"
// gives 1); true is 1. Anything else, nil included, gives 0.
func (v *Var) Int64() int64 {
	n, _ := toInt64(v.Val())
	return n
}

// Uint returns the value as a uint, 0 if it is not a number or is
// negative.
func (v *Var) Uint() uint { return uint(v.Uint64()) }

// Uint64 returns the value as a uint64, 0 if it is not a number or is
// negative.
func (v *Var) Uint64() uint64 {
	if u, ok := v.Val().(uint64); ok {
		return u
	}
	n, _ := toInt64(v.Val())
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// Float64 returns the value as a float64, 0 if it is not a number.
func (v *Var) Float64() float64 {
	f, _ := toFloat64(v.Val())
	return f
}

// Bool returns the value as a bool, as GoFrame does: nil, false, 0, an
// empty slice or map, and the strings "", "0", "false", "off" and "no"
// (any case) are false; every other value is true.
func (v *Var) Bool() bool {
	switch x := v.Val().(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return stringBool(x)
	case json.Number:
		return stringBool(string(x))
	}
	return !v.IsEmpty()
}

func stringBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "off", "no":
		return false
	}
	return true
}

// Strings returns the value as a []string: a list element by element (as
// String converts each), a JSON array text decoded, any other value as a
// list of one, and nil for nil.
func (v *Var) Strings() []string {
	list := toList(v.Val())
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = varString(e)
	}
	return out
}

// Ints returns the value as an []int, each element converted as Int
// converts it, and nil for nil.
func (v *Var) Ints() []int {
	list := toList(v.Val())
	if list == nil {
		return nil
	}
	out := make([]int, len(list))
	for i, e := range list {
		n, _ := toInt64(e)
		out[i] = int(n)
	}
	return out
}

// Map returns the value as a map[string]any: a map with string keys as
// it is, a JSON object text decoded, a struct by its JSON encoding, and
// nil for anything else.
func (v *Var) Map() map[string]any {
	switch x := v.Val().(type) {
	case nil:
		return nil
	case map[string]any:
		return x
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m
	case string:
		return jsonMap([]byte(x))
	case []byte:
		return jsonMap(x)
	}
	rv := reflect.ValueOf(v.v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Struct:
		b, err := json.Marshal(v.v)
		if err != nil {
			return nil
		}
		return jsonMap(b)
	}
	return nil
}

// Scan stores the value in the variable pointer points to, converting it
// to that variable's type: a string, number or bool as String, Int64,
// Float64 and Bool read it (but strictly: "abc" into an int is an error),
// a list into a slice, a map into a map or into a struct by its fields'
// p, json or Go names (the Go name matched in any case). Scan of a nil
// Var leaves the variable as it is.
func (v *Var) Scan(pointer any) error {
	rv := reflect.ValueOf(pointer)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("baton: Scan needs a non-nil pointer, got %T", pointer)
	}
	if v.IsNil() {
		return nil
	}
	if err := assign(rv.Elem(), v.v); err != nil {
		return fmt.Errorf("baton: scan into %s: %w", rv.Elem().Type(), err)
	}
	return nil
}

// MarshalJSON encodes the value the Var holds.
func (v *Var) MarshalJSON() ([]byte, error) { return json.Marshal(v.Val()) }

func jsonMap(b []byte) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func varString(x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		return x.String()
	case error:
		return x.Error()
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 32)
	case reflect.String:
		return rv.String()
	case reflect.Pointer:
		if rv.IsNil() {
			return ""
		}
		return varString(rv.Elem().Interface())
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

// parseInt reads s as GoFrame does: decimal, signed 0x hexadecimal, or a
// decimal fraction truncated toward zero.
func parseInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	neg := false
	h := s
	if h != "" && (h[0] == '-' || h[0] == '+') {
		neg, h = h[0] == '-', h[1:]
	}
	if len(h) > 2 && (h[:2] == "0x" || h[:2] == "0X") {
		if n, err := strconv.ParseInt(h[2:], 16, 64); err == nil {
			if neg {
				n = -n
			}
			return n, true
		}
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return int64(f), true
	}
	return 0, false
}

func toInt64(x any) (int64, bool) {
	switch x := x.(type) {
	case nil:
		return 0, false
	case string:
		return parseInt(x)
	case []byte:
		return parseInt(string(x))
	case json.Number:
		return parseInt(string(x))
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		return int64(x), true
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return int64(rv.Float()), true
	case reflect.String:
		return parseInt(rv.String())
	case reflect.Pointer:
		if !rv.IsNil() {
			return toInt64(rv.Elem().Interface())
		}
	}
	return 0, false
}

func toFloat64(x any) (float64, bool) {
	switch x := x.(type) {
	case nil:
		return 0, false
	case float64:
		return x, true
	case string, []byte, json.Number:
		f, err := strconv.ParseFloat(strings.TrimSpace(varString(x)), 64)
		if err != nil {
			return 0, false
		}
		return f, true
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return toFloat64(rv.String())
	case reflect.Pointer:
		if !rv.IsNil() {
			return toFloat64(rv.Elem().Interface())
		}
		return 0, false
	}
	n, ok := toInt64(x)
	return float64(n), ok
}

// toList returns x as a list: a slice or array element by element, a
// JSON array text decoded, any other value as a list of one.
func toList(x any) []any {
	switch x := x.(type) {
	case nil:
		return nil
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case string:
		if s := strings.TrimSpace(x); len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			var list []any
			if dec.Decode(&list) == nil {
				return list
			}
		}
		return []any{x}
	case []byte:
		return []any{string(x)}
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	}
	return []any{x}
}

// assign stores src in dst, converting it to dst's type; it is Scan's
// core, and fails where a lenient conversion would guess.
func assign(dst reflect.Value, src any) error {
	if src == nil {
		return nil
	}
	if sv := reflect.ValueOf(src); sv.Type().AssignableTo(dst.Type()) {
		dst.Set(sv)
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := assign(p.Elem(), src); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Interface:
		if dst.NumMethod() == 0 {
			dst.Set(reflect.ValueOf(src))
			return nil
		}
	case reflect.String:
		if isComposite(src) {
			return fmt.Errorf("%s does not fit a string", kindName(src))
		}
		dst.SetString(varString(src))
		return nil
	case reflect.Bool:
		switch x := src.(type) {
		case bool:
			dst.SetBool(x)
			return nil
		case string, json.Number:
			b, err := strconv.ParseBool(strings.TrimSpace(varString(x)))
			if err != nil {
				return fmt.Errorf("%q is not a boolean", varString(x))
			}
			dst.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, isBool := src.(bool); !isBool && !isComposite(src) {
			n, ok := toInt64(src)
			if !ok || dst.OverflowInt(n) {
				return fmt.Errorf("%q is not an integer of %d bits", varString(src), dst.Type().Bits())
			}
			dst.SetInt(n)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, isBool := src.(bool); !isBool && !isComposite(src) {
			n, err := strconv.ParseUint(strings.TrimSpace(varString(src)), 10, dst.Type().Bits())
			if err != nil {
				return fmt.Errorf("%q is not an unsigned integer of %d bits", varString(src), dst.Type().Bits())
			}
			dst.SetUint(n)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		if _, isBool := src.(bool); !isBool && !isComposite(src) {
			f, ok := toFloat64(src)
			if !ok {
				return fmt.Errorf("%q is not a number", varString(src))
			}
			dst.SetFloat(f)
			return nil
		}
	case reflect.Slice:
		if dst.Type().Elem().Kind() == reflect.Uint8 {
			if s, ok := src.(string); ok {
				dst.SetBytes([]byte(s))
				return nil
			}
		}
		list := toList(src)
		s := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, e := range list {
			if err := assign(s.Index(i), e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		dst.Set(s)
		return nil
	case reflect.Map:
		m := (&Var{v: src}).Map()
		if m == nil || dst.Type().Key().Kind() != reflect.String {
			break
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, e := range m {
			ev := reflect.New(dst.Type().Elem()).Elem()
			if err := assign(ev, e); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		dst.Set(out)
		return nil
	case reflect.Struct:
		m := (&Var{v: src}).Map()
		if m == nil {
			break
		}
		return assignStruct(dst, m)
	}
	return fmt.Errorf("%s does not fit %s", kindName(src), dst.Type())
}

// assignStruct sets the fields of dst from m, by the field table of its
// type (api_bind.go): each field's p, json or Go name, the Go name
// matched in any case, embedded structs flattened.
func assignStruct(dst reflect.Value, m map[string]any) error {
	tab, err := bindTableOf(dst.Type())
	if err != nil {
		return err
	}
	for i := range tab.fields {
		f := &tab.fields[i]
		name := f.paramName()
		e, ok := m[name]
		if !ok {
			for k, x := range m {
				if strings.EqualFold(k, f.goName) {
					e, ok = x, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		if err := assign(dst.FieldByIndex(f.index), e); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
	}
	return nil
}

func isComposite(x any) bool {
	switch reflect.ValueOf(x).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		_, isBytes := x.([]byte)
		return !isBytes
	}
	return false
}

func kindName(x any) string {
	switch reflect.ValueOf(x).Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return fmt.Sprintf("%q", varString(x))
}
