//! Point → cell: an R-tree of the cells' bounding boxes, then the exact polygon test on the
//! few candidates. A point on an edge shared by two cells (or a corner shared by four)
//! belongs to exactly one: the one with the lowest code, so the answer never depends on the
//! order cells were loaded in.

use geo::{BoundingRect, Intersects, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use super::Cell;

/// Bounding boxes of cells, each with the cell's position in its slice.
pub(super) type Tree = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>;

pub(super) fn envelopes(cells: &[Cell]) -> Tree {
    RTree::bulk_load(
        cells
            .iter()
            .enumerate()
            .filter_map(|(i, cell)| {
                let b = cell.polygon.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners(b.min().into(), b.max().into()),
                    i,
                ))
            })
            .collect(),
    )
}

/// A district's grid, ready for lookups.
#[derive(Debug)]
pub struct Grid {
    /// Sorted by code: the first match is the lowest code.
    cells: Vec<Cell>,
    tree: Tree,
}

impl Grid {
    pub fn new(mut cells: Vec<Cell>) -> Grid {
        cells.sort_by(|a, b| a.code.cmp(&b.code));
        let tree = envelopes(&cells);
        Grid { cells, tree }
    }

    /// The cell at (longitude, latitude), if any: `None` outside the grid or in a gap.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&Cell> {
        let point = Point::new(lon, lat);
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|e| e.data)
            .filter(|i| self.cells[*i].polygon.intersects(&point))
            .min()
            .map(|i| &self.cells[i])
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}
