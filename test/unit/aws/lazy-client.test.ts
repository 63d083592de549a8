import { describe, expect, it, vi } from 'vitest';
import { lazyClient } from '../../../src/aws/lazy-client.js';

describe('lazyClient', () => {
  it('builds nothing until first called', () => {
    // Prepare
    const build = vi.fn(async () => ({ name: 'client' }));

    // Act
    lazyClient(build);

    // Assess
    expect(build).not.toHaveBeenCalled();
  });

  it('builds once and hands every caller the same client', async () => {
    // Prepare
    const build = vi.fn(async () => ({ name: 'client' }));
    const client = lazyClient(build);

    // Act
    const [a, b] = await Promise.all([client(), client()]);
    const c = await client();

    // Assess
    expect(build).toHaveBeenCalledTimes(1);
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('tries a failed build again on the next call', async () => {
    // Prepare
    const build = vi
      .fn<() => Promise<{ name: string }>>()
      .mockRejectedValueOnce(new Error('chunk not found'))
      .mockResolvedValue({ name: 'client' });
    const client = lazyClient(build);

    // Act
    const first = await client().catch((error: Error) => error.message);
    const second = await client();

    // Assess
    expect(first).toBe('chunk not found');
    expect(second).toEqual({ name: 'client' });
    expect(build).toHaveBeenCalledTimes(2);
  });
});
