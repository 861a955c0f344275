# shellcheck shell=bash
# The probes of the roles (opennebula-entrypoint probe SERVICE [HOST [PORT]]), sourced by the entrypoint.

# probe SERVICE [HOST [PORT]]: exit 0 when the service answers as it should. Pure bash (/dev/tcp), so it
# needs nothing the image does not have; used by the chart's probes and its `helm test` pods.
probe() {
	local service=${1:-} host=${2:-127.0.0.1} port=${3:-} request response crlf=$'\r\n'
	local LC_ALL=C # lengths in bytes
	if ha_gate_standby "$service"; then printf '%s: standby, this member is not the Raft leader\n' "$service" && return 0; fi
	case $service in
	oned)
		port=${port:-2633}
		# With credentials (ONE_PROBE_AUTH=user:password, or its _FILE) one.system.version must succeed;
		# without, xmlrpc-c's own system.listMethods proves oned serves XML-RPC without an authentication
		# failure in oned's log at every probe.
		file_env ONE_PROBE_AUTH
		# bash 5.2 makes "&" in a replacement mean the match; here it must stay a literal "&".
		shopt -u patsub_replacement 2>/dev/null || true
		local session=${ONE_PROBE_AUTH//&/&amp;}
		session=${session//</&lt;}
		local body="<?xml version=\"1.0\"?><methodCall><methodName>one.system.version</methodName><params><param><value><string>${session//>/&gt;}</string></value></param></params></methodCall>"
		[ -n "$ONE_PROBE_AUTH" ] || body='<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params></params></methodCall>'
		request="POST /RPC2 HTTP/1.0${crlf}Host: $host${crlf}Content-Type: text/xml${crlf}Content-Length: ${#body}${crlf}${crlf}$body"
		;;
	fireedge)
		port=${port:-2616}
		request="GET / HTTP/1.0${crlf}Host: $host${crlf}${crlf}"
		;;
	oneflow | onegate | oneform | guacd | sshd | monitord)
		local -A default_ports=([oneflow]=2474 [onegate]=5030 [oneform]=13013 [guacd]=4822 [sshd]=22 [monitord]=4124)
		port=${port:-${default_ports[$service]}}
		accepts_tcp "$host" "$port" || one_die "probe $service: nothing listens on $host:$port"
		return 0
		;;
	hem)
		probe_hem
		return 0
		;;
	exporter) probe_exporter "$host" "$port" && return 0 ;;
	raft)
		ha_probe
		return 0
		;;
	*) one_die "probe: unknown service \"$service\" (oned fireedge oneflow onegate oneform guacd sshd monitord hem exporter raft)" ;;
	esac
	require_port "probe port" "$port"
	{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || one_die "probe $service: cannot connect to $host:$port"
	printf '%s' "$request" >&3
	response=$(timeout "${PROBE_TIMEOUT:-5}" cat <&3) || true
	exec 3<&-
	case $service in
	oned)
		[[ $response == "HTTP/1."?" 200"* ]] || one_die "probe oned: $host:$port did not answer HTTP 200"
		[[ $response == *"<methodResponse>"* ]] || one_die "probe oned: $host:$port did not answer XML-RPC"
		[ -n "$ONE_PROBE_AUTH" ] || return 0
		[[ $response == *"<boolean>1</boolean>"* ]] ||
			one_die "probe oned: one.system.version failed: $(sed -n 's/.*<string>\([^<]*\)<\/string>.*/\1/p' <<<"$response" | head -n 1)"
		local version=${response#*<boolean>1</boolean>}
		version=${version#*<string>}
		printf 'OpenNebula %s\n' "${version%%</string>*}"
		;;
	fireedge)
		[[ $response =~ ^HTTP/1\.[01]\ [23][0-9][0-9] ]] || one_die "probe fireedge: $host:$port answered: ${response%%$'\r'*}"
		;;
	esac
}

# probe hem: hem listens on nothing; it connects to oned's hook manager (one_hm), a subscriber to its event
# publisher and a requester to its replier (onehem-server.conf's endpoints, packaged as localhost:2101 and
# 2102). It passes while hem holds an established connection to each endpoint, or the endpoint accepts
# none (oned restarting: libzmq reconnects by itself). It fails when hem is not running, or when an
# endpoint accepts connections and hem has none to it: hem is then stuck and only a restart helps. It
# cannot see hem's event thread dying inside a live process (libzmq keeps the connections up). Its own
# sockets tell (FireEdge subscribes to the same publisher from the same pod): the socket inodes of hem's
# file descriptors, looked up in the network namespace's TCP tables. Runs in hem's container (its PIDs).
probe_hem() {
	local conf=$ONE_ROOT/etc/one/onehem-server.conf script=/usr/lib/one/onehem/onehem-server.rb
	local pid='' dir args link line name endpoint table remote state inode hex connected
	local -A inodes=() hosts=() ports=() endpoints=([subscriber]=tcp://localhost:2101 [replier]=tcp://localhost:2102)
	if [ -f "$conf" ]; then
		while IFS= read -r line; do
			if [[ $line =~ ^:(subscriber|replier)_endpoint:[[:space:]]*[\'\"]?([^\'\"[:space:]]*) ]]; then
				endpoints[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
			fi
		done <"$conf"
	fi
	for name in subscriber replier; do
		[[ ${endpoints[$name]} =~ ^tcp://(.+):([0-9]+)$ ]] ||
			one_die "probe hem: :${name}_endpoint: \"${endpoints[$name]}\" in $conf is not tcp://HOST:PORT"
		hosts[$name]=${BASH_REMATCH[1]#[} ports[$name]=${BASH_REMATCH[2]}
		hosts[$name]=${hosts[$name]%]}
		require_port "probe hem: the port of :${name}_endpoint: in $conf" "${ports[$name]}"
		ports[$name]=$((10#${ports[$name]})) # decimal, as libzmq reads it (02101 is 2101)
	done
	for dir in /proc/[0-9]*; do
		mapfile -d '' args 2>/dev/null <"$dir/cmdline" || continue
		if [ "${args[1]:-}" = "$script" ]; then pid=${dir#/proc/} && break; fi
	done
	[ -n "$pid" ] || one_die "probe hem: hem ($script) is not running"
	for link in "/proc/$pid/fd/"*; do
		link=$(readlink "$link" 2>/dev/null) || continue
		if [[ $link =~ ^socket:\[([0-9]+)\]$ ]]; then inodes[${BASH_REMATCH[1]}]=1; fi
	done
	for name in subscriber replier; do
		endpoint=${endpoints[$name]}
		printf -v hex ':%04X' "${ports[$name]}"
		connected=no
		# /proc/net/tcp{,6}: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; st 01 is
		# ESTABLISHED.
		for table in "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6"; do
			[ -r "$table" ] || continue
			{
				read -r _
				while read -r _ _ remote state _ _ _ _ _ inode _; do
					if [ "$state" = 01 ] && [[ $remote == *"$hex" ]] && [ -n "${inodes[$inode]:-}" ]; then
						connected=yes && break
					fi
				done
			} <"$table"
			[ "$connected" = no ] || break
		done
		[ "$connected" = no ] || continue
		if accepts_tcp "${hosts[$name]}" "${ports[$name]}"; then
			one_die "probe hem: hem (pid $pid) has no connection to oned's $name at $endpoint, which accepts connections"
		fi
		printf "oned's %s at %s accepts no connection (oned is not running): hem reconnects when it does\n" "$name" "$endpoint"
	done
	printf 'hem (pid %s) is connected to oned\n' "$pid"
}
