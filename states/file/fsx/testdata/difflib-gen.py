# Regenerates difflib.json: what Python 3's difflib.unified_diff (used by Salt)
# prints for each case. Run in this directory: python3 difflib-gen.py.
import difflib, json
def lines(s): return s.splitlines(True)
cases = {
 "insert": ("a\nb\nc\n", "a\nb\nx\nc\n"),
 "delete first": ("a\nb\nc\n", "b\nc\n"),
 "replace middle": ("1\n2\n3\n4\n5\n", "1\n2\nthree\n4\n5\n"),
 "two hunks": ("".join(f"{i}\n" for i in range(20)), "".join(f"{i}\n" for i in range(20)).replace("2\n","two\n",1).replace("17\n","seventeen\n")),
 "close changes merge": ("".join(f"{i}\n" for i in range(12)), "".join(("X\n" if i in (2,8) else f"{i}\n") for i in range(12))),
 "from empty": ("", "a\nb\n"),
 "to empty": ("a\nb\n", ""),
 "single line": ("a\n", "b\n"),
 "moved block": ("a\nb\nc\nd\ne\nf\n", "d\ne\nf\na\nb\nc\n"),
 "popular lines": ("".join(("}\n" if i%3==0 else f"line {i}\n") for i in range(300)), "".join(("}\n" if i%3==0 else (f"LINE {i}\n" if i in (100,101,250) else f"line {i}\n")) for i in range(300))),
 "repeated": ("x\nx\nx\ny\n", "x\ny\nx\nx\n"),
}
out = {k: "".join(difflib.unified_diff(lines(a), lines(b))) for k,(a,b) in cases.items()}
json.dump({"cases": {k: [a,b] for k,(a,b) in cases.items()}, "want": out}, open("difflib.json","w"), indent=1)
