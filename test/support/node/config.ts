// The configuration files of the real test node (see ./index.ts): containerd, the CNI bridge, kubelet,
// kube-proxy and CoreDNS, every path under the node's directory. Pure functions of the node's layout.
import { join } from 'node:path';

/** Fixed names and addresses of the node (one real node runs at a time on a machine: see ./index.ts). */
export const NODE = {
  /** The node's name and its Hostname address, so the API server reaches the kubelet on 127.0.0.1. */
  name: 'localhost',
  bridge: 'rnode0',
  network: 'real-node',
  podSubnet: '10.244.0.0/24',
  /** The bridge's address: the pods' gateway, and where CoreDNS answers (the kubelet's clusterDNS). */
  gateway: '10.244.0.1',
  /** kube-apiserver's default service range (kwokctl sets none): the `kubernetes` Service is 10.0.0.1. */
  serviceSubnet: '10.0.0.0/24',
  clusterDomain: 'cluster.local',
} as const;

export interface Layout {
  dir: string;
  kubeconfig: string;
  pauseImage: string;
  kubeletPort: number;
  /** kube-proxy's health and metrics ports (on 127.0.0.1). */
  proxyPorts: [number, number];
  nodeIP: string;
}

export const paths = (dir: string) => ({
  containerdConfig: join(dir, 'containerd.toml'),
  containerdSocket: join(dir, 'containerd.sock'),
  containerdRoot: join(dir, 'containerd', 'root'),
  containerdState: join(dir, 'containerd', 'state'),
  cniConfDir: join(dir, 'cni', 'net.d'),
  cniIpamDir: join(dir, 'cni', 'ipam'),
  kubeletConfig: join(dir, 'kubelet.yaml'),
  kubeletRoot: join(dir, 'kubelet'),
  podLogs: join(dir, 'pod-logs'),
  kubeProxyConfig: join(dir, 'kube-proxy.yaml'),
  corefile: join(dir, 'Corefile'),
  volumes: join(dir, 'volumes'),
  logs: join(dir, 'logs'),
});

/**
 * The kwokctl configuration of the cluster a real node joins: the API server's certificate also names the
 * `kubernetes` Service's address (pods verify it), and kwok's controller manages only its own fake nodes
 * (kwokctl's binary runtime makes it manage every node, the real one included).
 */
export const KWOKCTL_CONFIG = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeApiserverCertSANs: ["10.0.0.1", "kubernetes.default.svc", "kubernetes.default.svc.${NODE.clusterDomain}"]
componentsPatches:
  - name: kwok-controller
    extraArgs:
      - key: manage-all-nodes
        value: "false"
      - key: manage-nodes-with-annotation-selector
        value: kwok.x-k8s.io/node=fake
`;

/**
 * containerd 1.6 (Debian's). restrict_oom_score_adj: without CAP_SYS_RESOURCE in the machine's root (as
 * here), runc cannot lower a container's oom_score_adj and every sandbox fails with "can't get final
 * child's PID from pipe: EOF". The stream server (exec, logs) listens on loopback only.
 */
export function containerdConfig(layout: Layout): string {
  const p = paths(layout.dir);
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
[grpc]
  address = "${p.containerdSocket}"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(layout.dir, 'containerd', 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${layout.pauseImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${p.cniConfDir}"
`;
}

/** The bridge (gateway, IP masquerade, hairpin for a pod reaching itself through a Service) and portmap. */
export function cniConfig(layout: Layout): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: NODE.network,
      plugins: [
        {
          type: 'bridge',
          bridge: NODE.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: NODE.podSubnet, gateway: NODE.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: paths(layout.dir).cniIpamDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/**
 * kubelet: cgroup v1 allowed (this machine's hierarchy), cgroupfs under a cgroup root of its own, no swap
 * check, eviction and image GC that never fire on a busy test machine, and its API on 127.0.0.1 only with
 * anonymous access (the API server has no kubelet client certificate in kwokctl's cluster; `kubectl logs`
 * and `exec` go through it).
 */
export function kubeletConfig(layout: Layout, cgroupRoot: string): string {
  const p = paths(layout.dir);
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${layout.kubeletPort}
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://${p.containerdSocket}
cgroupDriver: cgroupfs
cgroupRoot: ${cgroupRoot}
failCgroupV1: false
failSwapOn: false
clusterDNS: [${NODE.gateway}]
clusterDomain: ${NODE.clusterDomain}
podLogsDir: ${p.podLogs}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 0s
maxPods: 60
registerNode: true
`;
}

/** kube-proxy in iptables mode; masquerade-all: a pod reaching a Service backed by a pod on the same
 * bridge gets its reply through the host (without it, such connections time out). */
export function kubeProxyConfig(layout: Layout): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${layout.kubeconfig}}
hostnameOverride: ${NODE.name}
mode: iptables
clusterCIDR: ${NODE.podSubnet}
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
healthzBindAddress: 127.0.0.1:${layout.proxyPorts[0]}
metricsBindAddress: 127.0.0.1:${layout.proxyPorts[1]}
`;
}

/** CoreDNS on the bridge's address, answering the cluster domain from the API server. */
export function corefile(layout: Layout): string {
  return `.:53 {
    bind ${NODE.gateway}
    errors
    kubernetes ${NODE.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${layout.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

/**
 * Local PersistentVolumes (the hostPath provisioner would ignore fsGroup, and the chart's volumes need
 * it) with a no-provisioner StorageClass made the default, bound at once (one node: a claim no pod uses
 * yet, as the backup claim until its first Job, must be Bound for `helm --wait`).
 */
export function storageManifests(layout: Layout, count: number): string {
  const docs = [
    `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain`,
  ];
  for (let i = 0; i < count; i += 1) {
    docs.push(`apiVersion: v1
kind: PersistentVolume
metadata: {name: local-${i}}
spec:
  capacity: {storage: 100Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  local: {path: ${join(paths(layout.dir).volumes, String(i))}}
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/hostname, operator: In, values: [${NODE.name}]}`);
  }
  return docs.join('\n---\n') + '\n';
}
