# shellcheck shell=bash
# shellcheck disable=SC2016 # the awk programs given to rewrite() are single-quoted on purpose
# Key-level editors of the files under /etc/one: OpenNebula's template syntax (oned.conf, monitord.conf)
# and the YAML its Ruby and Node servers read. Each edit replaces one key or block in place, so comments and
# every other setting stay as upstream wrote them. Values reach awk through ENVIRON (awk -v would turn
# backslashes into escapes), and the template scanner knows quoted strings: a "]", "[", "," or "#" inside
# a value does not end a block or start a comment, as in oned's own lexer (src/parsers/template_parser.l).

# The scratch tree being built and the /etc/one it becomes (set by etc-one.sh while it builds).
ETC_STAGE='' ETC_TARGET=''

# rewrite FILE FAILURE AWK_ARGUMENTS...: runs awk over FILE and replaces FILE with its output by rename
# (same mode and owner; a concurrent reader never sees a truncated file); when awk exits non-zero, FILE
# is left as it was and FAILURE reported.
rewrite() {
	local file=$1 failure=$2 tmp
	shift 2
	tmp=$(mktemp "$file.XXXXXX")
	if ! awk "$@" "$file" >"$tmp"; then
		rm -f "$tmp"
		# Errors name /etc/one's file, not the scratch copy being built (etc-one.sh).
		[ -z "$ETC_STAGE" ] || failure=${failure//"$ETC_STAGE"/"$ETC_TARGET"}
		one_die "$failure"
	fi
	replace_file "$tmp" "$file"
}

# The template scanner, prepended to the template editors' programs. mask(line) returns the line's code
# (up to an unquoted "#") with every character inside a quoted string replaced by "_", so positions match
# the line and brackets, commas and "=" found in it are the template's own; in_str carries a string that
# spans lines. Inside a string \" is an escaped quote (oned's unescape()).
TEMPLATE_SCANNER='
	function mask(line,    i, c, n, out) {
		out = ""; n = length(line)
		for (i = 1; i <= n; i++) {
			c = substr(line, i, 1)
			if (in_str) {
				if (c == "\\" && substr(line, i + 1, 1) == "\"") { out = out "__"; i++; continue }
				if (c == "\"") in_str = 0
				out = out (in_str ? "_" : c)
				continue
			}
			if (c == "#") return out
			if (c == "\"") in_str = 1
			out = out c
		}
		return out
	}
	function count(s, ch,    n, i) { n = 0; for (i = 1; i <= length(s); i++) if (substr(s, i, 1) == ch) n++; return n }
	# scan(): sets code (the masked line), top (the line starts outside any block), depth after it.
	function scan() { top = (depth == 0 && !in_str); code = mask($0); depth += count(code, "[") - count(code, "]"); if (depth < 0) depth = 0 }
	function starts(name) { return top && toupper(code) ~ ("^[ \t]*" toupper(name) "[ \t]*=") }
	function opens_block(name) { return top && toupper(code) ~ ("^[ \t]*" toupper(name) "[ \t]*=[ \t]*\\[") }
'

# template_value_ok VALUE: VALUE is one template value (a bare word, a quoted string or a [ ... ] vector)
# that cannot run into the rest of the file: quotes closed, brackets balanced.
template_value_ok() {
	VALUE=$1 awk "$TEMPLATE_SCANNER"'
		BEGIN {
			v = ENVIRON["VALUE"]; m = mask(v)
			if (in_str || length(m) != length(v) || count(m, "[") != count(m, "]")) exit 1
			if (m ~ /^\[/ || m ~ /^"_*"$/) exit 0
			if (index(m, "[") || index(m, "]") || index(m, "=") || index(m, ",") || index(m, "\"") || m ~ /[ \t]/) exit 1
		}'
}

# template_quote VALUE: VALUE as a quoted template string; " is escaped as oned and onedb read it.
template_quote() {
	local quote='"' escaped='\"'
	printf '"%s"' "${1//"$quote"/"$escaped"}"
}

# set_template_block FILE NAME CONTENT: replaces the top-level `NAME = [ ... ]` block of an OpenNebula
# template file (oned.conf, monitord.conf) with CONTENT; appends it when the file has none.
set_template_block() {
	local file=$1 name=$2
	NAME=$name CONTENT=$3 rewrite "$file" "$file: cannot set $name" "$TEMPLATE_SCANNER"'
		BEGIN { name = ENVIRON["NAME"] }
		{ was = depth; scan() }
		!done && !inside && was == 0 && opens_block(name) { inside = 1 }
		inside {
			if (depth == 0) { print ENVIRON["CONTENT"]; inside = 0; done = 1 }
			next
		}
		{ print }
		END { if (!done) print "\n" ENVIRON["CONTENT"] }
	'
}

# set_template_key FILE KEY VALUE [append]: sets the single top-level `KEY = VALUE` (a vector when VALUE
# is "[ ... ]"), uncommenting the packaged example (`# KEY = ...`) when the key is not set, so the setting
# stays next to its documentation. Fails when the file sets KEY more than once, or has neither the key nor
# an example of it (unless "append" is given: the config step's own settings are then appended).
set_template_key() {
	local file=$1 key=$2
	KEY=$key VALUE=$3 APPEND=${4:-} rewrite "$file" "$file: no single $key key to set (neither set once nor a commented example)" "$TEMPLATE_SCANNER"'
		BEGIN { key = ENVIRON["KEY"]; example = "^#[ \t]*" toupper(key) "[ \t]*=" }
		{ was = depth; scan() }
		skip { if (depth == 0) skip = 0; next }
		was == 0 && starts(key) {
			if (found++) exit 1
			lines[++n] = key " = " ENVIRON["VALUE"]
			if (depth > 0) skip = 1
			next
		}
		{ lines[++n] = $0; if (!example_at && was == 0 && toupper($0) ~ example) example_at = n }
		END {
			if (found > 1) exit 1
			if (!found && example_at) lines[example_at] = key " = " ENVIRON["VALUE"]
			else if (!found && ENVIRON["APPEND"] == "append") lines[++n] = key " = " ENVIRON["VALUE"]
			else if (!found) exit 1
			for (i = 1; i <= n; i++) print lines[i]
		}
	'
}

# unset_template_value FILE KEY: comments out a top-level `KEY = ...` line (back to the packaged default).
unset_template_value() {
	local file=$1 key=$2
	KEY=$key rewrite "$file" "$file: cannot unset $key" "$TEMPLATE_SCANNER"'
		{ was = depth; scan() }
		was == 0 && depth == 0 && starts(ENVIRON["KEY"]) { $0 = "# " $0 }
		{ print }
	'
}

# set_block_attribute FILE BLOCK ATTRIBUTE VALUE: sets `ATTRIBUTE = VALUE` inside the single top-level
# `BLOCK = [ ... ]` (case-insensitive names, as oned reads them); fails if the block lacks it (a commented
# attribute does not count) or the file has the block more than once (VM_MAD: edit it with files/).
set_block_attribute() {
	local file=$1 block=$2 attribute=$3
	BLOCK=$block ATTRIBUTE=$attribute VALUE=$4 rewrite "$file" "$file: no single $block block with a $attribute attribute to set" \
		"$TEMPLATE_SCANNER"'
		BEGIN { block = ENVIRON["BLOCK"]; re = "(^|[[ \t,])" toupper(ENVIRON["ATTRIBUTE"]) "[ \t]*=[ \t]*(\"_*\"|[^], \t]*)" }
		{ was = depth; scan() }
		was == 0 && opens_block(block) { if (blocks++) exit 1; inside = 1 }
		inside && !done && match(toupper(code), re) {
			prefix = substr($0, 1, RSTART - 1); rest = substr($0, RSTART + RLENGTH)
			lead = substr($0, RSTART, RLENGTH); sub(/=.*/, "", lead)
			$0 = prefix lead "= " ENVIRON["VALUE"] rest; done = 1
		}
		inside && depth == 0 { inside = 0 }
		{ print }
		END { exit (done && blocks == 1) ? 0 : 1 }
	'
}

# yaml_set FILE PATH VALUE: sets the scalar at PATH (a "/"-separated path of keys as the file writes
# them, e.g. `:server/:bind` or `guacd/port`) of a YAML file OpenNebula ships; each key is looked up among
# the direct children of the one before. Fails if the path is not there or does not end at a scalar.
yaml_set() {
	local file=$1 path=$2
	YPATH=$path VALUE=$3 rewrite "$file" "$file: no $path key to set" '
		BEGIN { n = split(ENVIRON["YPATH"], p, "/"); depth = 0; ind[0] = -1; child[0] = 0 }
		/^[ \t]*(#|$)/ { print; next }
		{
			match($0, /^ */); indent = RLENGTH; text = substr($0, indent + 1)
			while (depth > 0 && indent <= ind[depth]) depth--
			if (!done && depth < n) {
				if (child[depth] < 0) child[depth] = indent
				k = p[depth + 1]
				if (indent == child[depth] && index(text, k ":") == 1 && (length(text) == length(k) + 1 || substr(text, length(k) + 2, 1) ~ /[ \t]/)) {
					depth++; ind[depth] = indent; child[depth] = -1
					if (depth == n) {
						if (substr(text, length(k) + 2) ~ /^[ \t]*(#.*)?$/) exit 1 # a mapping or list, not a scalar
						print substr($0, 1, indent) k ": " ENVIRON["VALUE"]; done = 1; next
					}
				}
			}
			print
		}
		END { exit done ? 0 : 1 }
	'
}

# set_managed_section FILE NAME CONTENT: keeps CONTENT between marker comments at the end of FILE;
# empty CONTENT removes the section.
set_managed_section() {
	local file=$1 name=$2
	BEGIN_MARK="# BEGIN opennebula-container: $name" END_MARK="# END opennebula-container: $name" CONTENT=$3 \
		rewrite "$file" "$file: cannot edit the $name section" '
		$0 == ENVIRON["BEGIN_MARK"] { skip = 1 }
		!skip { print }
		$0 == ENVIRON["END_MARK"] { skip = 0 }
		END { if (ENVIRON["CONTENT"] != "") print ENVIRON["BEGIN_MARK"] "\n" ENVIRON["CONTENT"] "\n" ENVIRON["END_MARK"] }
	'
}

yaml_quote() { # single-quoted YAML scalar
	printf "'%s'" "${1//\'/\'\'}"
}

# file_syntax FILE: "template" or "yaml", from its first line that is neither blank nor a comment.
file_syntax() {
	awk '
		/^[ \t]*(#|$)/ { next }
		/^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { print "template"; exit }
		/^(---|[^ \t=#][^ \t=]*:([ \t]|$))/ { print "yaml"; exit }
		{ exit 1 }
	' "$1"
}
