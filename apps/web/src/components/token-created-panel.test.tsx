import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { TokenCreatedPanel } from './token-created-panel.tsx';

describe('TokenCreatedPanel', () => {
  it('shows the secret once, warns it will not be shown again, and copies it', async () => {
    const writeText = vi.fn(async (_: string) => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const onDone = vi.fn();
    render(
      <TokenCreatedPanel
        token={{ id: 't1', client_id: 'client-abc', client_secret: 'sk_secret_123' }}
        name="ci"
        onDone={onDone}
      />,
    );

    expect(screen.getByTestId('client-secret').textContent).toBe('sk_secret_123');
    expect(screen.getByRole('alert').textContent).toMatch(/won’t see it again/);

    fireEvent.click(screen.getByRole('button', { name: 'Copy secret' }));
    expect(writeText).toHaveBeenCalledWith('sk_secret_123');
    expect(await screen.findByRole('button', { name: 'Copied' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'I’ve saved the secret' }));
    expect(onDone).toHaveBeenCalledOnce();
  });
});
