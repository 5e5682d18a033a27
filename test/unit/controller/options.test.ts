import { controlPlaneOptionsFromEnv, parsePeerLabels } from '../../../controller/main';

describe('control-plane options', () => {
  it('parses peer labels k=v,k2=v2 and refuses entries without =', () => {
    expect(parsePeerLabels('')).toEqual({});
    expect(parsePeerLabels(' region = eu , tier=gold,empty=')).toEqual({
      region: 'eu',
      tier: 'gold',
      empty: '',
    });
    expect(() => parsePeerLabels('region')).toThrow('peer label "region" is not key=value');
    expect(() => parsePeerLabels('=x')).toThrow('is not key=value');
  });

  it('reads the documented environment', () => {
    expect(
      controlPlaneOptionsFromEnv({
        KUBECONFIG: '/k',
        CL_NAMESPACE: 'gw',
        CL_CERT_DIR: '/certs',
        CL_PEER_LABELS: 'a=b',
        CL_LOG_LEVEL: 'debug',
        CL_ADMIN_PORT: '9091',
        CL_SNAPSHOT_PORT: '9445',
        CL_GATEWAY_PORT: '8444',
        POD_NAME: 'cl-controlplane-abc',
      }),
    ).toEqual({
      namespace: 'gw',
      kubeconfigPath: '/k',
      certDir: '/certs',
      peerLabels: { a: 'b' },
      logLevel: 'debug',
      adminPort: 9091,
      snapshotPort: 9445,
      gatewayPort: 8444,
      identity: 'cl-controlplane-abc',
      leaseDurationSeconds: undefined,
      leaseRetryMs: undefined,
    });
  });

  it('refuses a port that is not one, naming the variable', () => {
    expect(() => controlPlaneOptionsFromEnv({ CL_ADMIN_PORT: 'http' })).toThrow(
      'CL_ADMIN_PORT=http is not an integer in 0..65535',
    );
    expect(() => controlPlaneOptionsFromEnv({ CL_SNAPSHOT_PORT: '70000' })).toThrow('CL_SNAPSHOT_PORT');
  });

  it('leaves unset options to their defaults', () => {
    expect(controlPlaneOptionsFromEnv({})).toMatchObject({
      namespace: undefined,
      kubeconfigPath: undefined,
      peerLabels: {},
      adminPort: undefined,
    });
  });
});
