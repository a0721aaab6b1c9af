import * as React from 'react';
import { styled } from 'styled-components';

/*
 * A full-width bar on a light background. The design system's ProgressBar is a fixed-width white bar
 * for dark overlays (the Media Library's upload cards), which does not read in a white side panel.
 */
const Track = styled.div`
  width: 100%;
  height: 0.4rem;
  overflow: hidden;
  border-radius: ${({ theme }) => theme.borderRadius};
  background: ${({ theme }) => theme.colors.neutral150};
`;

const Fill = styled.div<{ $tone: 'primary' | 'warning' | 'danger' }>`
  height: 100%;
  background: ${({ theme, $tone }) => theme.colors[`${$tone}600`]};
  transition: width 0.2s ease-out;
`;

interface Props {
  /** 0–100. */
  value: number;
  label: string;
  tone?: 'primary' | 'warning' | 'danger';
}

export const Meter = ({ value, label, tone = 'primary' }: Props) => {
  const percent = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <Track role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <Fill $tone={tone} style={{ width: `${percent}%` }} />
    </Track>
  );
};
