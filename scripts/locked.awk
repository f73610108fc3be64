# Locked (atomic read-modify-write) instructions a program executed, from callgrind.
#
#   awk -v bin=NAME -f scripts/locked.awk ADDRESSES CALLGRIND_OUT
#
# ADDRESSES: the hex addresses of the instructions `objdump -d` shows with a `lock`
# prefix in the executable NAME (one a line); CALLGRIND_OUT: a `valgrind --tool=callgrind
# --dump-instr=yes` profile of a run of it. Prints how many times those instructions ran
# (shared libraries are not counted: only the object whose path ends in /NAME).
function hex(s,   i, v) {
    v = 0
    s = tolower(s)
    sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return v
}
FNR == NR { lock[hex($1) ""] = 1; next }
# Objects are named once, as (id) path, then referred to by id.
/^c?ob=\(/ {
    id = $1
    sub(/^c?ob=/, "", id)
    if (NF > 1) name[id] = $2
    if ($1 ~ /^ob=/) inbin = (name[id] == bin || substr(name[id], length(name[id]) - length(bin)) == "/" bin)
    next
}
# The line after calls= carries the call's inclusive cost: it moves the position only.
/^calls=/ { skip = 1; next }
/^(0x[0-9a-fA-F]+|[+-][0-9]+|\*)/ {
    if ($1 ~ /^0x/) pos = hex($1)
    else if ($1 ~ /^\+/) pos += substr($1, 2) + 0
    else if ($1 ~ /^-/) pos -= substr($1, 2) + 0
    if (skip) { skip = 0; next }
    if (inbin && ((pos "") in lock)) total += $NF
    next
}
END { print total + 0 }
