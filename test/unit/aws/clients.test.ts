import { describe, expect, it } from 'vitest';
import { createAwsClients } from '../../../src/aws/clients.js';

describe('createAwsClients', () => {
  it('builds EC2, EKS and Auto Scaling clients for the region with one SDK attempt each', async () => {
    // Act
    const clients = createAwsClients({ region: 'eu-west-1' });

    // Assess
    for (const client of [clients.ec2, clients.eks, await clients.autoScaling()]) {
      expect(await client.config.region()).toBe('eu-west-1');
      expect(await client.config.maxAttempts()).toBe(1);
      client.destroy();
    }
  });

  it('points every client at the given endpoint', async () => {
    // Act
    const clients = createAwsClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:5000' });

    // Assess
    for (const client of [clients.ec2, clients.eks, await clients.autoScaling()]) {
      const endpoint = await client.config.endpoint?.();
      expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe('http://127.0.0.1:5000');
      client.destroy();
    }
  });

  it('builds the Auto Scaling client on first use, once', async () => {
    // Prepare
    const clients = createAwsClients({ region: 'us-east-1' });

    // Act
    const [first, second] = await Promise.all([clients.autoScaling(), clients.autoScaling()]);
    const later = await clients.autoScaling();

    // Assess
    expect(first).toBe(second);
    expect(later).toBe(first);
    first.destroy();
  });
});
