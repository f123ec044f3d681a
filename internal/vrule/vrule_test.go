package vrule

import (
	"reflect"
	"strings"
	"testing"
)

type signUp struct {
	Meta     struct{} `path:"/user" method:"post"`
	Name     string   `json:"name" v:"required|length:6,16#name is required|name must be 6-16 characters"`
	Password string   `p:"pass" v:"required|min-length:8"`
	Age      int      `json:"age" v:"between:18,130"`
	Email    string   `json:"email,omitempty" v:"email"`
	Site     string   `json:"site" v:"url"`
	Role     string   `json:"role" v:"in:admin,user"`
	Nick     string   `json:"nick" v:"not-in:root,admin|max-length:8"`
	Code     string   `json:"code" v:"regex:^(ab|cd)[0-9]+$"`
	Born     string   `json:"born" v:"date"`
	Count    string   `json:"count" v:"integer|min:1|max:9"`
	Ratio    string   `json:"ratio" v:"float"`
	Agree    string   `json:"agree" v:"boolean"`
	Hidden   string   `json:"-" v:"required"`
	Plain    string
}

func validSignUp() signUp {
	return signUp{
		Name: "gopher", Password: "12345678", Age: 30, Email: "a@example.com",
		Site: "https://example.com/x", Role: "user", Nick: "bob", Code: "cd42",
		Born: "2024/02/29", Count: "3", Ratio: "1.5", Agree: "Yes",
	}
}

type got struct{ field, rule string }

func violations(vs []Violation) []got {
	var out []got
	for _, v := range vs {
		out = append(out, got{v.Field, v.Rule})
	}
	return out
}

func TestCheck(t *testing.T) {
	rules, err := Compile(reflect.TypeFor[signUp]())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*signUp)
		want   []got
	}{
		{"valid", func(*signUp) {}, nil},
		{"required empty", func(s *signUp) { s.Name, s.Password = "", "" },
			[]got{{"name", "required"}, {"pass", "required"}}},
		{"length short", func(s *signUp) { s.Name = "go" }, []got{{"name", "length"}}},
		{"length counts runes", func(s *signUp) { s.Name = "日本語日本語" }, nil},
		{"length long", func(s *signUp) { s.Name = strings.Repeat("x", 17) }, []got{{"name", "length"}}},
		{"min-length", func(s *signUp) { s.Password = "1234567" }, []got{{"pass", "min-length"}}},
		{"between low", func(s *signUp) { s.Age = 17 }, []got{{"age", "between"}}},
		{"between zero is a value", func(s *signUp) { s.Age = 0 }, []got{{"age", "between"}}},
		{"between edge", func(s *signUp) { s.Age = 130 }, nil},
		{"email", func(s *signUp) { s.Email = "not-an-email" }, []got{{"email", "email"}}},
		{"empty optional skipped", func(s *signUp) { s.Email, s.Site, s.Role, s.Code = "", "", "", "" }, nil},
		{"url", func(s *signUp) { s.Site = "example.com" }, []got{{"site", "url"}}},
		{"in", func(s *signUp) { s.Role = "guest" }, []got{{"role", "in"}}},
		{"not-in and max-length", func(s *signUp) { s.Nick = "admin" }, []got{{"nick", "not-in"}}},
		{"max-length", func(s *signUp) { s.Nick = "abcdefghi" }, []got{{"nick", "max-length"}}},
		{"regex with bar", func(s *signUp) { s.Code = "ab7" }, nil},
		{"regex fails", func(s *signUp) { s.Code = "ef7" }, []got{{"code", "regex"}}},
		{"date", func(s *signUp) { s.Born = "2023-02-29" }, []got{{"born", "date"}}},
		{"date compact", func(s *signUp) { s.Born = "20230228" }, nil},
		{"integer, min on text", func(s *signUp) { s.Count = "x" },
			[]got{{"count", "integer"}, {"count", "min"}, {"count", "max"}}},
		{"max on text", func(s *signUp) { s.Count = "10" }, []got{{"count", "max"}}},
		{"float", func(s *signUp) { s.Ratio = "1.5.1" }, []got{{"ratio", "float"}}},
		{"boolean", func(s *signUp) { s.Agree = "maybe" }, []got{{"agree", "boolean"}}},
		{"every field reported", func(s *signUp) { *s = signUp{} },
			[]got{{"name", "required"}, {"pass", "required"}, {"age", "between"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validSignUp()
			tt.change(&v)
			vs := rules.Check(reflect.ValueOf(&v))
			if g := violations(vs); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("Check = %v, want %v (%+v)", g, tt.want, vs)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	rules, err := Compile(reflect.TypeFor[signUp]())
	if err != nil {
		t.Fatal(err)
	}
	v := validSignUp()
	v.Name, v.Password, v.Role = "", "1", "guest"
	vs := rules.Check(reflect.ValueOf(v))
	want := []string{
		"name is required",
		"The pass value `1` length must be equal or greater than 8",
		"The role value `guest` is not in acceptable range: admin,user",
	}
	if len(vs) != len(want) {
		t.Fatalf("Check = %+v, want %d violations", vs, len(want))
	}
	for i, w := range want {
		if vs[i].Message != w {
			t.Errorf("message %d = %q, want %q", i, vs[i].Message, w)
		}
	}
	v = validSignUp()
	v.Name = "x"
	if vs := rules.Check(reflect.ValueOf(v)); len(vs) != 1 || vs[0].Message != "name must be 6-16 characters" {
		t.Errorf("Check = %+v, want the second custom message", vs)
	}
}

func TestMessageCutsLongValue(t *testing.T) {
	type req struct {
		Role string `json:"role" v:"in:a#{field}: {value}"`
	}
	rules, err := Compile(reflect.TypeFor[req]())
	if err != nil {
		t.Fatal(err)
	}
	vs := rules.Check(reflect.ValueOf(req{Role: strings.Repeat("é", 100)}))
	if len(vs) != 1 {
		t.Fatalf("Check = %+v, want 1 violation", vs)
	}
	want := "role: " + strings.Repeat("é", 32) + "..."
	if vs[0].Message != want {
		t.Errorf("message = %q, want %q", vs[0].Message, want)
	}
}

type address struct {
	City string `json:"city" v:"required"`
	Zip  string `json:"zip" v:"regex:^[0-9]{5}$"`
}

type Base struct {
	ID int `json:"id" v:"min:1"`
}

type item struct {
	SKU string `json:"sku" v:"required"`
}

type order struct {
	Base
	Home  address  `json:"home"`
	Work  *address `json:"work"`
	Items []item   `json:"items" v:"required|length:1,3"`
	Tags  []string `json:"tags" v:"in:a,b"`
	Ptrs  []*item  `json:"ptrs"`
	Note  *string  `json:"note" v:"required"`
	Kids  []order  `json:"kids"`
}

func TestNested(t *testing.T) {
	rules, err := Compile(reflect.TypeFor[*order]())
	if err != nil {
		t.Fatal(err)
	}
	note := "n"
	tests := []struct {
		name string
		o    order
		want []got
	}{
		{"valid", order{Base: Base{1}, Home: address{City: "x"}, Items: []item{{"a"}}, Note: &note}, nil},
		{"everything wrong", order{
			Home: address{Zip: "1"}, Work: &address{}, Items: []item{{}, {"b"}, {}, {}},
			Tags: []string{"a", "c"}, Ptrs: []*item{nil, {}},
		}, []got{
			{"id", "min"}, {"home.city", "required"}, {"home.zip", "regex"},
			{"work.city", "required"}, {"items", "length"},
			{"items.0.sku", "required"}, {"items.2.sku", "required"}, {"items.3.sku", "required"},
			{"tags", "in"}, {"ptrs.1.sku", "required"}, {"note", "required"},
		}},
		{"recursive", order{Base: Base{1}, Home: address{City: "x"}, Items: []item{{"a"}}, Note: &note,
			Kids: []order{{Base: Base{2}, Home: address{City: "y"}, Items: []item{{"b"}}}}},
			[]got{{"kids.0.note", "required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g := violations(rules.Check(reflect.ValueOf(&tt.o))); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("Check = %v, want %v", g, tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	rules, err := Compile(reflect.TypeFor[order]())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rules.Fields() {
		names = append(names, f.Name)
	}
	want := []string{"id", "home.city", "home.zip", "work.city", "work.zip", "items", "items.*.sku",
		"tags", "ptrs.*.sku", "note"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Fields = %q, want %q", names, want)
	}
	r := rules.Fields()[5].Rules[1]
	lo, okLo := r.Min()
	hi, okHi := r.Max()
	if r.Name != "length" || !r.IsLength() || lo != 1 || hi != 3 || !okLo || !okHi {
		t.Errorf("items rule = %+v (min %v %v, max %v %v), want length 1..3", r, lo, okLo, hi, okHi)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string // every part must appear
	}{
		{"unknown", reflect.TypeFor[struct {
			Name string `v:"required|lenght:6,16"`
		}](), `field Name: rule "lenght:6,16": unknown rule`},
		{"arguments", reflect.TypeFor[struct {
			Name string `v:"length:6"`
		}](), `field Name: rule "length:6": wants 2 arguments, has 1`},
		{"not a number", reflect.TypeFor[struct {
			Age int `v:"min:x"`
		}](), `field Age: rule "min:x": argument "x" is not a number`},
		{"not a length", reflect.TypeFor[struct {
			Name string `v:"max-length:-1"`
		}](), `rule "max-length:-1": argument "-1" is not a length`},
		{"reversed", reflect.TypeFor[struct {
			Age int `v:"between:9,1"`
		}](), `rule "between:9,1": minimum above maximum`},
		{"missing argument", reflect.TypeFor[struct {
			Role string `v:"in:"`
		}](), `rule "in:": needs an argument`},
		{"stray argument", reflect.TypeFor[struct {
			Mail string `v:"email:x"`
		}](), `rule "email:x": takes no argument`},
		{"bad regex", reflect.TypeFor[struct {
			Code string `v:"regex:a(b"`
		}](), `field Code: rule "regex:a(b": error parsing regexp`},
		{"too many messages", reflect.TypeFor[struct {
			Name string `v:"required#a|b"`
		}](), `field Name: 2 messages for 1 rules`},
		{"empty rule", reflect.TypeFor[struct {
			Name string `v:"required||email"`
		}](), `field Name: empty rule`},
		{"length of a number", reflect.TypeFor[struct {
			Age int `v:"length:1,2"`
		}](), `field Age: rule "length": a length rule on a int`},
		{"value rule on a struct", reflect.TypeFor[struct {
			Home address `v:"min:1"`
		}](), `field Home: rule "min": a value rule on a vrule.address`},
		{"nested names the path", reflect.TypeFor[struct {
			Home struct {
				City string `v:"between:1"`
			}
		}](), `field Home.City: rule "between:1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.typ)
			if err == nil {
				t.Fatalf("Compile(%v) = nil error, want %q", tt.typ, tt.want)
			}
			for _, part := range []string{"vrule: type " + tt.typ.String(), tt.want} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("Compile error %q, want it to contain %q", err, part)
				}
			}
		})
	}
	if _, err := Compile(reflect.TypeFor[int]()); err == nil {
		t.Error("Compile(int) = nil error, want not a struct")
	}
}

func TestCheckOtherType(t *testing.T) {
	rules, err := Compile(reflect.TypeFor[address]())
	if err != nil {
		t.Fatal(err)
	}
	if vs := rules.Check(reflect.ValueOf((*address)(nil))); vs != nil {
		t.Errorf("Check(nil) = %v, want nil", vs)
	}
	defer func() {
		if recover() == nil {
			t.Error("Check of another type did not panic")
		}
	}()
	rules.Check(reflect.ValueOf(item{}))
}

func BenchmarkCheck(b *testing.B) {
	rules, err := Compile(reflect.TypeFor[signUp]())
	if err != nil {
		b.Fatal(err)
	}
	v := validSignUp()
	rv := reflect.ValueOf(&v)
	b.ReportAllocs()
	for b.Loop() {
		if vs := rules.Check(rv); vs != nil {
			b.Fatal(vs)
		}
	}
}

// FuzzParse: any tag either parses into rules whose checks run without a
// panic on a string and a number, or is an error; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"required|length:6,16#a|b", "regex:^(a|b)$|min:1", "in:a,b|not-in:c", "between:1,x",
		"min-length:3|max-length:2", "email|url|date|integer|float|boolean", "#", "|", "regex:#",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		rules, err := Parse(tag)
		if err != nil {
			return
		}
		for _, r := range rules {
			for _, v := range []reflect.Value{reflect.ValueOf("x1"), reflect.ValueOf(7)} {
				if r.IsLength() {
					r.holdsLength(len(tag))
					continue
				}
				r.holds(v)
			}
		}
	})
}
