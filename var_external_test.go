package baton_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// TestVarConversions checks Var's conversions against the common cases
// of GoFrame's gconv.
func TestVarConversions(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		str     string
		i64     int64
		u       uint
		f       float64
		b       bool
		strs    []string
		ints    []int
		isNil   bool
		isEmpty bool
	}{
		{name: "nil", in: nil, isNil: true, isEmpty: true},
		{name: "empty string", in: "", strs: []string{""}, ints: []int{0}, isEmpty: true},
		{name: "decimal", in: "42", str: "42", i64: 42, u: 42, f: 42, b: true, strs: []string{"42"}, ints: []int{42}},
		{name: "spaces", in: " 7 ", str: " 7 ", i64: 7, u: 7, f: 7, b: true, strs: []string{" 7 "}, ints: []int{7}},
		{name: "negative", in: "-3", str: "-3", i64: -3, u: 0, f: -3, b: true, strs: []string{"-3"}, ints: []int{-3}},
		{name: "hex", in: "0x1F", str: "0x1F", i64: 31, u: 31, f: 0, b: true, strs: []string{"0x1F"}, ints: []int{31}},
		{name: "signed hex", in: "-0xA", str: "-0xA", i64: -10, f: 0, b: true, strs: []string{"-0xA"}, ints: []int{-10}},
		{name: "fraction truncates", in: "123.9", str: "123.9", i64: 123, u: 123, f: 123.9, b: true, strs: []string{"123.9"}, ints: []int{123}},
		{name: "word", in: "abc", str: "abc", b: true, strs: []string{"abc"}, ints: []int{0}},
		{name: "false word", in: "Off", str: "Off", strs: []string{"Off"}, ints: []int{0}},
		{name: "no", in: "no", str: "no", strs: []string{"no"}, ints: []int{0}},
		{name: "zero string", in: "0", str: "0", strs: []string{"0"}, ints: []int{0}},
		{name: "bool true", in: true, str: "true", i64: 1, u: 1, f: 1, b: true, strs: []string{"true"}, ints: []int{1}},
		{name: "int", in: 5, str: "5", i64: 5, u: 5, f: 5, b: true, strs: []string{"5"}, ints: []int{5}},
		{name: "zero int", in: 0, str: "0", strs: []string{"0"}, ints: []int{0}, isEmpty: true},
		{name: "float", in: 2.5, str: "2.5", i64: 2, u: 2, f: 2.5, b: true, strs: []string{"2.5"}, ints: []int{2}},
		{name: "json number", in: json.Number("12"), str: "12", i64: 12, u: 12, f: 12, b: true, strs: []string{"12"}, ints: []int{12}},
		{name: "list", in: []any{"1", "2"}, str: `["1","2"]`, b: true, strs: []string{"1", "2"}, ints: []int{1, 2}},
		{name: "string list", in: []string{"x", "3"}, str: `["x","3"]`, b: true, strs: []string{"x", "3"}, ints: []int{0, 3}},
		{name: "empty list", in: []any{}, str: `[]`, strs: []string{}, ints: []int{}, isEmpty: true},
		{name: "json array text", in: `[1,"a"]`, str: `[1,"a"]`, b: true, strs: []string{"1", "a"}, ints: []int{1, 0}},
		{name: "map", in: map[string]any{"k": "v"}, str: `{"k":"v"}`, b: true, strs: []string{`{"k":"v"}`}, ints: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := baton.NewVar(tt.in)
			if got := v.String(); got != tt.str {
				t.Errorf("NewVar(%#v).String() = %q, want %q", tt.in, got, tt.str)
			}
			if got := v.Int64(); got != tt.i64 {
				t.Errorf("NewVar(%#v).Int64() = %d, want %d", tt.in, got, tt.i64)
			}
			if got := v.Int(); got != int(tt.i64) {
				t.Errorf("NewVar(%#v).Int() = %d, want %d", tt.in, got, tt.i64)
			}
			if got := v.Uint(); got != tt.u {
				t.Errorf("NewVar(%#v).Uint() = %d, want %d", tt.in, got, tt.u)
			}
			if got := v.Float64(); got != tt.f {
				t.Errorf("NewVar(%#v).Float64() = %v, want %v", tt.in, got, tt.f)
			}
			if got := v.Bool(); got != tt.b {
				t.Errorf("NewVar(%#v).Bool() = %v, want %v", tt.in, got, tt.b)
			}
			if got := v.Strings(); !reflect.DeepEqual(got, tt.strs) {
				t.Errorf("NewVar(%#v).Strings() = %#v, want %#v", tt.in, got, tt.strs)
			}
			if got := v.Ints(); !reflect.DeepEqual(got, tt.ints) {
				t.Errorf("NewVar(%#v).Ints() = %#v, want %#v", tt.in, got, tt.ints)
			}
			if got := v.IsNil(); got != tt.isNil {
				t.Errorf("NewVar(%#v).IsNil() = %v, want %v", tt.in, got, tt.isNil)
			}
			if got := v.IsEmpty(); got != tt.isEmpty {
				t.Errorf("NewVar(%#v).IsEmpty() = %v, want %v", tt.in, got, tt.isEmpty)
			}
			if got := v.Interface(); !reflect.DeepEqual(got, tt.in) {
				t.Errorf("NewVar(%#v).Interface() = %#v, want the value itself", tt.in, got)
			}
		})
	}
	t.Run("nil *Var", func(t *testing.T) {
		var v *baton.Var
		if !v.IsNil() || !v.IsEmpty() || v.String() != "" || v.Int() != 0 || v.Bool() || v.Map() != nil || v.Strings() != nil {
			t.Errorf("nil *Var does not convert to zero values")
		}
	})
}

func TestVarMap(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want map[string]any
	}{
		{name: "nil", in: nil, want: nil},
		{name: "map", in: map[string]any{"a": "1"}, want: map[string]any{"a": "1"}},
		{name: "string map", in: map[string]string{"a": "1"}, want: map[string]any{"a": "1"}},
		{name: "json object text", in: `{"a":1}`, want: map[string]any{"a": json.Number("1")}},
		{name: "struct", in: struct {
			A string `json:"a"`
		}{"x"}, want: map[string]any{"a": "x"}},
		{name: "scalar", in: "abc", want: nil},
		{name: "list", in: []any{1}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := baton.NewVar(tt.in).Map(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewVar(%#v).Map() = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestVarScan(t *testing.T) {
	type inner struct {
		X int `json:"x"`
	}
	type user struct {
		ID    int            `p:"uid" json:"id"`
		Name  string         `json:"name"`
		Age   uint8          // matched by Go name, any case
		Tags  []string       `json:"tags"`
		Extra map[string]int `json:"extra"`
		In    inner          `json:"in"`
		Ptr   *float64       `json:"ptr"`
		Skip  string         `json:"-"`
	}
	f := 1.5
	tests := []struct {
		name    string
		in      any
		into    func() any // a new pointer to scan into
		want    any        // what it points to after
		wantErr string
	}{
		{name: "string to int", in: "12", into: func() any { return new(int) }, want: 12},
		{name: "number to string", in: json.Number("3"), into: func() any { return new(string) }, want: "3"},
		{name: "string to bool", in: "true", into: func() any { return new(bool) }, want: true},
		{name: "list to slice", in: []any{"1", "2"}, into: func() any { return new([]int) }, want: []int{1, 2}},
		{name: "scalar to slice", in: "x", into: func() any { return new([]string) }, want: []string{"x"}},
		{name: "map to struct", in: map[string]any{
			"uid": "7", "name": "ann", "AGE": "30", "tags": []any{"a"}, "extra": map[string]any{"k": "2"},
			"in": map[string]any{"x": json.Number("4")}, "ptr": "1.5", "Skip": "no",
		}, into: func() any { return new(user) },
			want: user{ID: 7, Name: "ann", Age: 30, Tags: []string{"a"}, Extra: map[string]int{"k": 2}, In: inner{X: 4}, Ptr: &f}},
		{name: "json text to struct", in: `{"name":"bo"}`, into: func() any { return new(user) }, want: user{Name: "bo"}},
		{name: "nil leaves value", in: nil, into: func() any { n := 9; return &n }, want: 9},
		{name: "any", in: []any{"z"}, into: func() any { return new(any) }, want: []any{"z"}},
		{name: "word to int", in: "abc", into: func() any { return new(int) }, wantErr: `"abc" is not an integer`},
		{name: "overflow", in: "300", into: func() any { return new(int8) }, wantErr: "not an integer of 8 bits"},
		{name: "negative to uint", in: "-1", into: func() any { return new(uint) }, wantErr: "not an unsigned integer"},
		{name: "map to int", in: map[string]any{}, into: func() any { return new(int) }, wantErr: "an object does not fit int"},
		{name: "list to string", in: []any{"a"}, into: func() any { return new(string) }, wantErr: "a list does not fit a string"},
		{name: "bad field", in: map[string]any{"name": []any{1}}, into: func() any { return new(user) }, wantErr: `field "name"`},
		{name: "not a pointer", in: "1", into: func() any { return 0 }, wantErr: "baton: Scan needs a non-nil pointer, got int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.into()
			err := baton.NewVar(tt.in).Scan(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Scan(%#v) into %T: err %v, want one containing %q", tt.in, p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan(%#v) into %T: %v", tt.in, p, err)
			}
			if got := reflect.ValueOf(p).Elem().Interface(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Scan(%#v) = %s, want %s", tt.in, fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", tt.want))
			}
		})
	}
}
