import * as React from 'react';
import { Flex, Loader, Typography } from '@strapi/design-system';
import { File, FileError, FilePdf } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { styled } from 'styled-components';
import { isImage, type ScanMeta } from '../documents';
import { useScanBlob } from '../scans';
import { t } from '../utils';

const Tile = styled.button`
  position: relative;
  width: 8rem;
  height: 8rem;
  padding: 0;
  overflow: hidden;
  cursor: pointer;
  border: 1px solid ${({ theme }) => theme.colors.neutral200};
  border-radius: ${({ theme }) => theme.borderRadius};
  background: ${({ theme }) => theme.colors.neutral100};

  &:hover,
  &:focus-visible {
    border-color: ${({ theme }) => theme.colors.primary600};
  }

  /* The whole page, letterboxed: cropping could hide what the scan is meant to show. */
  img {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: contain;
  }
`;

/** Across the tile's foot: shown on every scan whose metadata could not be removed. */
const NotCleaned = styled(Typography)`
  position: absolute;
  left: 0;
  right: 0;
  bottom: 0;
  padding: 0.2rem;
  background: ${({ theme }) => theme.colors.warning100};
`;

interface Props {
  scan: ScanMeta;
  /** Names the scan to assistive technology, e.g. "ID card, front, scan 1". */
  label: string;
  onOpen: () => void;
}

/** One scan: the watermarked thumbnail of an image, an icon for PDF and Word files; opens the preview. */
export const ScanThumbnail = ({ scan, label, onOpen }: Props) => {
  const { formatMessage } = useIntl();
  const image = isImage(scan.kind);
  const thumbnail = useScanBlob(image ? `/id-vault/scans/${scan.id}/thumbnail` : null);

  let body: React.ReactNode;
  if (!image) {
    body = (
      <Flex direction="column" gap={1} height="100%" justifyContent="center">
        {scan.kind === 'pdf' ? <FilePdf width="2.4rem" height="2.4rem" /> : <File width="2.4rem" height="2.4rem" />}
        <Typography variant="pi" textColor="neutral600" textTransform="uppercase">
          {scan.kind}
        </Typography>
      </Flex>
    );
  } else if (thumbnail === null) {
    body = (
      <Flex height="100%" justifyContent="center">
        <Loader small>{formatMessage(t('scans.loading', 'Loading'))}</Loader>
      </Flex>
    );
  } else if ('error' in thumbnail) {
    body = (
      <Flex height="100%" justifyContent="center" title={thumbnail.error}>
        <FileError width="2.4rem" height="2.4rem" fill="danger600" />
      </Flex>
    );
  } else {
    body = <img src={thumbnail.url} alt={label} />;
  }

  return (
    <Tile type="button" onClick={onOpen} aria-label={label} title={label}>
      {body}
      {!scan.cleaned && (
        <NotCleaned variant="pi" textColor="warning700" textAlign="center" tag="span">
          {formatMessage(t('scans.not-cleaned', 'Not cleaned'))}
        </NotCleaned>
      )}
    </Tile>
  );
};
