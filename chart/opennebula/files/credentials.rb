# The credentials Job's script (ruby, from the front-end image): creates each Secret the chart needs that
# does not exist yet, with random values, through the Kubernetes API; an existing Secret is never
# changed. So passwords are made once, in the cluster, and a renderer without `lookup` (helm template,
# Argo CD) never produces new ones.
# Environment: GENERATED_SECRETS, a JSON list of {"name", "keys", "labels", "annotations", "type"}; KUBERNETES_SERVICE_HOST and
# KUBERNETES_SERVICE_PORT (set by Kubernetes); SERVICEACCOUNT_DIR (token, ca.crt, namespace; default the
# mounted service account).
require 'json'
require 'net/http'
require 'openssl'
require 'securerandom'

def fail!(message)
  warn "credentials FAILED: #{message}"
  exit 1
end

account = ENV.fetch('SERVICEACCOUNT_DIR', '/var/run/secrets/kubernetes.io/serviceaccount')
host = ENV['KUBERNETES_SERVICE_HOST'].to_s
port = ENV['KUBERNETES_SERVICE_PORT'].to_s
fail!('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not in a Kubernetes pod?') if host.empty? || port.empty?
begin
  token = File.read(File.join(account, 'token')).strip
  namespace = File.read(File.join(account, 'namespace')).strip
  secrets = JSON.parse(ENV.fetch('GENERATED_SECRETS'))
rescue KeyError, Errno::ENOENT, JSON::ParserError => e
  fail!("cannot read the service account in #{account} or GENERATED_SECRETS: #{e.message}")
end

http = Net::HTTP.new(host, Integer(port))
http.use_ssl = true
http.verify_mode = OpenSSL::SSL::VERIFY_PEER
http.ca_file = File.join(account, 'ca.crt')
http.open_timeout = 10
http.read_timeout = 30
headers = { 'Authorization' => "Bearer #{token}", 'Content-Type' => 'application/json', 'Accept' => 'application/json' }
collection = "/api/v1/namespaces/#{namespace}/secrets"

# A Secret made by an older chart carries the release's tracking label (app.kubernetes.io/instance), which
# lets Argo CD prune it: give it the labels and annotations a new one gets, leaving the data as it is.
def retag(http, path, headers, metadata, secret)
  labels = secret.fetch('labels', {})
  annotations = secret.fetch('annotations', {})
  current_labels = metadata['labels'] || {}
  current_annotations = metadata['annotations'] || {}
  stale = current_labels.key?('app.kubernetes.io/instance') ||
          labels.any? { |key, value| current_labels[key] != value } ||
          annotations.any? { |key, value| current_annotations[key] != value }
  return unless stale

  patch = { metadata: { labels: labels.merge('app.kubernetes.io/instance' => nil), annotations: annotations } }
  request = Net::HTTP::Patch.new(path, headers.merge('Content-Type' => 'application/merge-patch+json'))
  answer = http.request(request, JSON.generate(patch))
  fail!("cannot update the labels of Secret #{path.split('/').last}: HTTP #{answer.code} #{answer.body}") unless answer.code.to_i == 200
  puts "updated the labels of Secret #{path.split('/').last} (kept out of GitOps pruning)"
end

# The values of a new Secret: random passwords, or (type "rsa") an RSA key pair in PEM, public key first
# (monitord's NETWORK/PUBKEY and NETWORK/PRIKEY: OpenNebula reads them with PEM_read_PUBKEY and
# PEM_read_PrivateKey).
def generate(secret)
  keys = secret.fetch('keys')
  case secret.fetch('type', 'password')
  when 'password'
    keys.to_h { |key| [key, SecureRandom.alphanumeric(32)] }
  when 'rsa'
    fail!("Secret #{secret['name']}: an RSA key pair needs two keys (public, private), not #{keys.inspect}") unless keys.length == 2
    pair = OpenSSL::PKey::RSA.new(2048)
    { keys[0] => pair.public_to_pem, keys[1] => pair.private_to_pem }
  else
    fail!("Secret #{secret['name']}: unknown type #{secret['type'].inspect} (password or rsa)")
  end
end

secrets.each do |secret|
  name = secret.fetch('name')
  keys = secret.fetch('keys')
  body = {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: name, labels: secret.fetch('labels', {}), annotations: secret.fetch('annotations', {}) },
    stringData: generate(secret)
  }
  created = http.request(Net::HTTP::Post.new(collection, headers), JSON.generate(body))
  case created.code.to_i
  when 201
    puts "created Secret #{name} (#{keys.join(', ')})"
  when 409
    existing = http.request(Net::HTTP::Get.new("#{collection}/#{name}", headers))
    fail!("cannot read the existing Secret #{name}: HTTP #{existing.code} #{existing.body}") unless existing.code.to_i == 200
    current = JSON.parse(existing.body)
    missing = keys - (current['data'] || {}).keys
    fail!("the existing Secret #{name} has no #{missing.join(', ')}: add them, or delete the Secret to have new ones made") unless missing.empty?
    retag(http, "#{collection}/#{name}", headers, current['metadata'], secret)
    puts "kept Secret #{name}"
  else
    fail!("creating Secret #{name} in #{namespace} failed: HTTP #{created.code} #{created.body}")
  end
end
